"""Load flow files: parse YAML, migrate to the current spec, validate everything, fail with file/step/problem."""

from __future__ import annotations

import logging
import re
from collections import deque
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from config.errors import FlowError
from flows.events import MAX_STEPS, MAX_TOKEN_LENGTH
from flows.expressions import Place, check, parse
from flows.identity import identifying
from flows.migrations import migrate_to_latest
from flows.schema import GROUP_STEP, ROADMAP_ELEMENTS, Audience, FlowDefinition, Step
from flows.steps import REGISTRY
from flows.steps.base import PAGE_SIZE

DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"
MAX_MESSAGE_LENGTH = 4096

log = logging.getLogger(__name__)

PREVIOUS = "previous"
"""Sub-directory of earlier flow versions still used by consultations (loaded, not translated)."""


class FlowYamlLoader(yaml.SafeLoader):
    """YAML as questionnaire authors expect: `Yes`, `No`, `On`, `Off` are words, only true/false are booleans."""


FlowYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
FlowYamlLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def load_flow(path: Path) -> FlowDefinition:
    """Read, migrate and validate one flow file; raise FlowError naming the file, step and problem."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=FlowYamlLoader)  # noqa: S506 - safe subclass
    except (OSError, yaml.YAMLError) as exc:
        raise FlowError(f"{path}: cannot read: {exc}") from exc
    return parse_flow(raw, str(path))


def parse_flow(raw: Any, source: str) -> FlowDefinition:
    if not isinstance(raw, dict):
        raise FlowError(f"{source}: a flow file must be a mapping with spec_version, id, version, steps")
    document = migrate_to_latest(raw, source)
    try:
        flow = FlowDefinition.model_validate(document)
    except ValidationError as exc:
        raise FlowError(f"{source}: " + "; ".join(_describe(document, err) for err in exc.errors())) from exc
    problems = validate(flow)
    if problems:
        raise FlowError(f"{source}: " + "; ".join(problems))
    return flow


def _describe(document: dict[str, Any], error: Any) -> str:
    loc = list(error["loc"])
    where = ".".join(str(p) for p in loc)
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = document.get("steps") or []
        if loc[1] < len(steps) and isinstance(steps[loc[1]], dict) and "id" in steps[loc[1]]:
            where = f"step {steps[loc[1]]['id']!r}: " + ".".join(str(p) for p in loc[2:])
    return f"{where}: {error['msg']}"


def validate(flow: FlowDefinition) -> list[str]:
    """Every problem of a parsed flow as 'step <id>: <problem>' lines (empty when the flow is sound)."""
    problems: list[str] = []
    ids = [s.id for s in flow.steps]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        problems.append(f"step {dup!r}: id used more than once")
    if flow.default_language not in flow.languages:
        problems.append(f"default_language {flow.default_language!r} is not among languages")
    problems += _missing_languages("title", flow.title, flow.languages)
    known = set(ids)
    for index, step in enumerate(flow.steps):
        where = f"step {step.id!r}"
        stype = REGISTRY.get(step.type)
        if stype is None:
            problems.append(f"{where}: unknown type {step.type!r} (known: {', '.join(sorted(REGISTRY))})")
            continue
        problems += [f"{where}: {p}" for p in stype.problems(step, flow)]
        problems += [f"{where}: tag {tag!r} is listed more than once" for tag in _repeated(step.tags)]
        problems += [
            f"{where}: tag {tag!r} is not a roadmap element (known: {', '.join(ROADMAP_ELEMENTS)})"
            for tag in dict.fromkeys(step.tags)
            if tag not in ROADMAP_ELEMENTS
        ]
        if step.required and flow.audience is Audience.SURVIVOR:
            problems.append(f"{where}: `required` is not allowed in a survivor flow: every question can be skipped")
        for target in _explicit_targets(step):
            if target not in known:
                problems.append(f"{where}: next {target!r} is not a step of this flow")
        if step.next is None and step.type != "end" and index == len(flow.steps) - 1:
            problems.append(f"{where}: the last step must be an end step or name a `next`")
        elif step.type != "end" and (not (branches := flow.branches(step)) or branches[-1].when is not None):
            problems.append(f"{where}: `next` needs a branch without `if` (the way on when no condition holds)")
        if stype.needs_text:
            problems += [f"{where}: {p}" for p in _missing_languages("text", step.text, flow.languages)]
        for option in step.options:
            problems += [
                f"{where}: {p}" for p in _missing_languages(f"option {option.code!r}", option.label, flow.languages)
            ]
        for name in ("hint", "decline_text", "constraint_message", "min_label", "max_label"):
            texts = getattr(step, name)
            if texts is not None:
                problems += [f"{where}: {p}" for p in _missing_languages(name, texts, flow.languages)]
        problems += [f"{where}: {p}" for p in _expression_problems(step, flow)]
        if flow.audience is Audience.SURVIVOR and (found := _identifying(step)) is not None:
            problems.append(f"{where}: {found} (survivor flows never ask this)")
        longest = max((len(v) for v in step.text.values()), default=0)
        if longest > MAX_MESSAGE_LENGTH - 600:
            problems.append(f"{where}: text is {longest} characters; keep it under {MAX_MESSAGE_LENGTH - 600}")
        last = len(step.options) - 1
        longest_token = max(len(stype.button_token(str(last), False)), len(f"p{last // PAGE_SIZE}"))
        if longest_token > MAX_TOKEN_LENGTH:
            problems.append(
                f"{where}: {len(step.options)} options are too many to offer (a token would exceed "
                f"{MAX_TOKEN_LENGTH} characters)"
            )
    if len(flow.steps) > MAX_STEPS:
        problems.append(f"the flow has {len(flow.steps)} steps; at most {MAX_STEPS} can be addressed")
    if not problems:
        problems += _unreachable(flow)
    if not any(s.type == "end" for s in flow.steps):
        problems.append("the flow has no end step")
    if flow.audience is Audience.SURVIVOR and (len(flow.steps) < 2 or flow.steps[1].type != "age_gate"):
        problems.append("a survivor flow must ask the age band (an age_gate step) right after consent")
    return problems


def advise(flow: FlowDefinition) -> list[str]:
    """What `flows lint` warns about in a sound flow (the flow still loads): in CSO flows, questions that would
    identify a person and the survivor participant-group question."""
    warnings: list[str] = []
    if flow.audience is Audience.CSO:
        for step in flow.steps:
            if (found := _identifying(step)) is not None:
                warnings.append(f"step {step.id!r}: {found}")
        if flow.group_step is not None:
            warnings.append(
                f"step {GROUP_STEP!r}: the participant-group question belongs in survivor flows; in a CSO flow "
                "every participant answers for an organisation"
            )
    return warnings


def _identifying(step: Step) -> str | None:
    texts = [*step.text.values(), *(step.hint or {}).values()]
    found = identifying(step.type, step.id, texts)
    return found.describe() if found is not None else None


def _repeated(values: tuple[str, ...]) -> list[str]:
    return sorted({v for v in values if values.count(v) > 1})


def _explicit_targets(step: Step) -> list[str]:
    if isinstance(step.next, str):
        return [step.next]
    return [branch.goto for branch in step.next or ()]


def _expression_problems(step: Step, flow: FlowDefinition) -> list[str]:
    """Every expression of the step parsed and checked for where it is used, so none can fail mid-conversation."""
    found: list[tuple[Place, str]] = [
        (place, source)
        for place in (Place.RELEVANT, Place.CONSTRAINT, Place.CHOICE_FILTER, Place.CALCULATION)
        if (source := getattr(step, place.value))
    ]
    if not isinstance(step.next, str):
        found += [(Place.NEXT, branch.when) for branch in step.next or () if branch.when]
    kind = REGISTRY[step.type]
    problems = []
    if step.choice_filter and not kind.takes_options:
        problems.append("`choice_filter` applies to single_choice and multiple_choice steps only")
    if step.calculation and step.type != "calculate":
        problems.append("`calculation` applies to calculate steps only")
    if step.constraint and not kind.question:
        problems.append("`constraint` applies to questions only (this step has no answer to check)")
    steps = {s.id: s for s in flow.steps}
    for place, source in found:
        try:
            node = parse(source)
        except FlowError as exc:
            problems.append(f"{place}: {exc}")
            continue
        problems += [f"{place}: {p}" for p in check(node, place)]
        unknown = sorted(node.references() - steps.keys())
        if unknown:
            problems.append(f"{place}: refers to unknown step(s) {', '.join(unknown)}")
        silent = sorted(r for r in node.references() & steps.keys() if not REGISTRY[steps[r].type].holds_value)
        if silent:
            problems.append(f"{place}: refers to {', '.join(silent)}, which has no answer")
    return problems


def _missing_languages(what: str, texts: dict[str, str], languages: tuple[str, ...]) -> list[str]:
    missing = [lang for lang in languages if not (texts.get(lang) or "").strip()]
    extra = [lang for lang in texts if lang not in languages]
    out = [f"{what}: missing text in {', '.join(missing)}"] if missing else []
    if extra:
        out.append(f"{what}: text in undeclared language {', '.join(extra)}")
    return out


def _unreachable(flow: FlowDefinition) -> list[str]:
    seen = {flow.steps[0].id}
    queue = deque([flow.steps[0]])
    by_id = {s.id: s for s in flow.steps}
    while queue:
        step = queue.popleft()
        targets = flow.targets(step) if step.type != "end" else []
        for target in targets:
            if target not in seen:
                seen.add(target)
                queue.append(by_id[target])
    return [f"step {s.id!r}: cannot be reached from the first step" for s in flow.steps if s.id not in seen]


def flow_files(directory: Path = DEFINITIONS_DIR) -> list[Path]:
    """The flow files of a definitions directory: the current questionnaires, then earlier versions kept in
    `previous/` for the consultations (and the people mid-way) still on them."""
    return sorted(directory.glob("*.yaml")) + sorted((directory / PREVIOUS).glob("*.yaml"))


class FlowLibrary:
    """Every flow version available to consultations, by (id, version).

    A library read from a directory notices files added while the bot runs (a flow created or imported): a
    version it does not know is looked for on disk before it is called missing. A version once loaded never
    changes under a running conversation; a new or broken file is logged, never fatal, after start-up.
    """

    def __init__(self, flows: list[FlowDefinition], directory: Path | None = None) -> None:
        self._flows: dict[tuple[str, int], FlowDefinition] = {}
        self._directory = directory
        self._seen: dict[Path, tuple[int, int]] = {}
        for flow in flows:
            if flow.key in self._flows:
                raise FlowError(f"flow {flow.id} version {flow.version} is defined twice")
            self._flows[flow.key] = flow

    @classmethod
    def from_directory(cls, directory: Path = DEFINITIONS_DIR) -> FlowLibrary:
        files = flow_files(directory)
        library = cls([load_flow(p) for p in files], directory)
        library._seen = _stamps(files)
        return library

    def refresh(self) -> list[FlowDefinition]:
        """Load flow files added (or changed) on disk since the last look; return the new versions."""
        if self._directory is None:
            return []
        stamps = _stamps(flow_files(self._directory))
        added: list[FlowDefinition] = []
        for path, stamp in stamps.items():
            if self._seen.get(path) == stamp:
                continue
            try:
                flow = load_flow(path)
            except FlowError as exc:
                log.warning("flow file not loaded: %s", exc, extra={"event": "flows.refresh.invalid"})
                continue
            if flow.key not in self._flows:
                self._flows[flow.key] = flow
                added.append(flow)
                log.info(
                    "flow %s version %s loaded from %s",
                    flow.id,
                    flow.version,
                    path.name,
                    extra={"event": "flows.refresh.added", "flow": flow.id},
                )
            elif self._flows[flow.key] != flow:
                log.warning(
                    "%s changed flow %s version %s, which is already in use: the loaded version is kept; "
                    "save a changed questionnaire with a higher version",
                    path.name,
                    flow.id,
                    flow.version,
                    extra={"event": "flows.refresh.changed", "flow": flow.id},
                )
        self._seen = stamps
        return added

    def add(self, flow: FlowDefinition) -> None:
        """Make one more flow version available (a questionnaire uploaded while the bot runs)."""
        if flow.key in self._flows:
            raise FlowError(f"flow {flow.id} version {flow.version} is defined twice")
        self._flows[flow.key] = flow

    def flows(self) -> list[FlowDefinition]:
        """Every flow version, by id then version."""
        return [self._flows[key] for key in sorted(self._flows)]

    def has(self, flow_id: str, version: int) -> bool:
        return (flow_id, version) in self._flows

    def get(self, flow_id: str, version: int) -> FlowDefinition:
        found = self._flows.get((flow_id, version))
        if found is None and self.refresh():
            found = self._flows.get((flow_id, version))
        if found is None:
            raise FlowError(f"flow {flow_id!r} version {version} is not available")
        return found

    def latest(self, flow_id: str) -> FlowDefinition:
        self.refresh()
        versions = [f for (fid, _), f in self._flows.items() if fid == flow_id]
        if not versions:
            raise FlowError(f"no flow named {flow_id!r} (available: {', '.join(self.ids())})")
        return max(versions, key=lambda f: f.version)

    def ids(self) -> list[str]:
        return sorted({fid for fid, _ in self._flows})


def _stamps(files: list[Path]) -> dict[Path, tuple[int, int]]:
    stamps: dict[Path, tuple[int, int]] = {}
    for path in files:
        try:
            info = path.stat()
        except OSError:
            continue
        stamps[path] = (info.st_mtime_ns, info.st_size)
    return stamps


@lru_cache(maxsize=1)
def shipped_library() -> FlowLibrary:
    return FlowLibrary.from_directory()


@lru_cache(maxsize=1)
def shipped_keys() -> frozenset[tuple[str, int]]:
    """(id, version) of every shipped flow file (uploads added to a running library are not among them)."""
    return frozenset(flow.key for flow in FlowLibrary.from_directory().flows())
