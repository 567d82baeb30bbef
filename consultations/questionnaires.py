"""Questionnaires for consultations: the shipped flows and those an organisation uploads as an XLSForm (imported,
reported on row by row, stored in the database and loaded into the running flow library), and their pictures."""

from __future__ import annotations

import json
import logging
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.errors import FlowError, VoicesError
from flows.loader import FlowLibrary, parse_flow, shipped_keys, shipped_library
from flows.picture import svg
from flows.schema import FlowDefinition
from storage import audit, questionnaires
from storage.database import Database

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
UPLOAD_SUFFIXES = (".xlsx", ".xls", ".csv", ".md")
_ROW = re.compile(r"\brow (\d+)\b")


class QuestionnaireError(VoicesError):
    """An uploaded questionnaire cannot be used (the message says why)."""


@dataclass(frozen=True)
class ReportLine:
    """One line of the importer's report: the sheet row it is about (when it names one) and what it says."""

    row: int | None
    text: str

    @classmethod
    def of(cls, text: str) -> ReportLine:
        found = _ROW.search(text)
        return cls(int(found.group(1)) if found else None, text)


@dataclass
class ImportReport:
    """What the importer said about an upload: refusals (nothing imported), or warnings, rows left out and
    identifying fields dropped."""

    source_name: str
    problems: list[ReportLine] = field(default_factory=list)
    warnings: list[ReportLine] = field(default_factory=list)
    left_out: list[ReportLine] = field(default_factory=list)
    dropped: list[ReportLine] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> str:
        return json.dumps(
            {
                "source_name": self.source_name,
                **{
                    name: [line.text for line in getattr(self, name)]
                    for name in ("problems", "warnings", "left_out", "dropped")
                },
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> ImportReport:
        data: dict[str, Any] = json.loads(text or "{}")
        return cls(
            str(data.get("source_name", "")),
            **{
                name: [ReportLine.of(str(x)) for x in data.get(name, [])]
                for name in ("problems", "warnings", "left_out", "dropped")
            },
        )


@dataclass(frozen=True)
class Questionnaire:
    """A flow version a consultation can use, and where it came from."""

    flow: FlowDefinition
    shipped: bool
    organisation_id: int | None = None
    report: ImportReport | None = None

    @property
    def key(self) -> str:
        return f"{self.flow.id}:{self.flow.version}"


def parse_key(key: str) -> tuple[str, int] | None:
    flow_id, _, version = key.partition(":")
    return (flow_id, int(version)) if flow_id and version.isdigit() else None


def upload_flow_id(organisation_id: int, form_id: str) -> str:
    """Uploaded flows get the organisation in their id, so two organisations' `survey` forms never mix."""
    return f"org{organisation_id}_{form_id}"[:40].rstrip("_")


class Questionnaires:
    """The questionnaires of this deployment: shipped files plus uploads stored in the database, all in one
    FlowLibrary shared with the bot (so a consultation on an upload runs at once in this process; other
    workers pick it up within a minute, see `refresh`)."""

    def __init__(self, database: Database, library: FlowLibrary | None = None) -> None:
        self.database = database
        self.library = library or shipped_library()

    async def refresh(self) -> int:
        """Load stored uploads the library does not have yet; how many were added."""
        async with self.database.reader() as session:
            rows = await questionnaires.stored_flows(session)
        added = 0
        for row in rows:
            if self.library.has(row.flow_id, row.version):
                continue
            try:
                self.library.add(parse_flow(_yaml_load(row.document), f"stored questionnaire {row.flow_id}"))
                added += 1
            except Exception as exc:  # one unreadable upload must stop neither the others nor the start
                log.error("stored questionnaire %s v%s not loaded: %s", row.flow_id, row.version, type(exc).__name__)
        return added

    async def available(self, organisation_id: int | None) -> list[Questionnaire]:
        """Shipped flows (latest versions), then the organisation's uploads, newest first."""
        latest: dict[str, int] = {}
        for flow_id, version in shipped_keys():
            latest[flow_id] = max(version, latest.get(flow_id, 0))
        shipped = [Questionnaire(self.library.get(fid, latest[fid]), True) for fid in sorted(latest)]
        if organisation_id is None:
            return shipped
        async with self.database.reader() as session:
            rows = await questionnaires.stored_flows(session, organisation_id)
        uploads = [
            Questionnaire(
                self.library.get(row.flow_id, row.version),
                False,
                row.organisation_id,
                ImportReport.from_json(row.report),
            )
            for row in reversed(rows)
            if self.library.has(row.flow_id, row.version)
        ]
        return shipped + uploads

    async def find(self, key: str, organisation_id: int | None) -> Questionnaire | None:
        """A questionnaire the organisation may use (shipped, or its own upload); None otherwise."""
        parsed = parse_key(key)
        if parsed is None:
            return None
        flow_id, version = parsed
        if (flow_id, version) in shipped_keys():
            return Questionnaire(self.library.get(flow_id, version), True)
        if organisation_id is None:
            return None
        async with self.database.reader() as session:
            row = await questionnaires.stored_flow(session, flow_id, version)
        if row is None or row.organisation_id != organisation_id:
            return None
        if not self.library.has(flow_id, version):
            await self.refresh()
        if not self.library.has(flow_id, version):
            return None
        return Questionnaire(
            self.library.get(flow_id, version), False, row.organisation_id, ImportReport.from_json(row.report)
        )

    def check_upload(
        self, name: str, data: bytes, *, audience: str, skip_unsupported: bool
    ) -> tuple[ImportReport, dict[str, Any] | None]:
        """Run the XLSForm importer on an uploaded file; the report, and the flow document when it imported."""
        from flows.xlsform import import_xlsform

        name = Path(name or "form.xlsx").name[:200]
        suffix = Path(name).suffix.lower()
        report = ImportReport(name)
        if suffix not in UPLOAD_SUFFIXES:
            report.problems.append(ReportLine.of(f"{name}: an XLSForm is a {', '.join(UPLOAD_SUFFIXES)} file"))
            return report, None
        if not data:
            report.problems.append(ReportLine.of(f"{name}: the file is empty"))
            return report, None
        if len(data) > MAX_UPLOAD_BYTES:
            report.problems.append(
                ReportLine.of(f"{name}: the file is larger than {MAX_UPLOAD_BYTES // 1024 // 1024} MB")
            )
            return report, None
        with tempfile.TemporaryDirectory(prefix="voices-xlsform-") as directory:
            path = Path(directory) / f"upload{suffix}"
            path.write_bytes(data)
            try:
                result = import_xlsform(path, skip_unsupported=skip_unsupported, audience=audience)
            except FlowError as exc:
                lines = [x.strip() for x in str(exc).replace(str(path), name).splitlines() if x.strip()]
                if len(lines) > 1 and lines[0].endswith(":"):
                    lines = lines[1:]  # the importer's summary line for the command line; the page says it its way
                report.problems.extend(ReportLine.of(line) for line in lines)
                return report, None
            except Exception as exc:  # a damaged spreadsheet can break the readers in many ways
                log.warning("uploaded XLSForm unreadable", extra={"error": type(exc).__name__})
                report.problems.append(ReportLine.of(f"{name}: the file cannot be read as an XLSForm"))
                return report, None
        report.warnings.extend(ReportLine.of(x) for x in result.warnings)
        report.left_out.extend(ReportLine.of(x) for x in result.left_out)
        report.dropped.extend(ReportLine.of(x) for x in result.dropped)
        return report, result.document

    async def store_upload(
        self, organisation_id: int, report: ImportReport, document: dict[str, Any], *, actor_id: int, actor: str
    ) -> Questionnaire:
        """Keep an imported questionnaire for the organisation: its id gets the organisation's prefix; it keeps
        the form's version unless that is taken, then gets the next free one (consultations pin versions, so a
        stored one never changes)."""
        from flows.xlsform import to_yaml

        document = dict(document)
        flow_id = upload_flow_id(organisation_id, str(document["id"]))
        async with self.database.transaction() as session:
            latest = max(await questionnaires.latest_version(session, flow_id), _library_latest(self.library, flow_id))
            wanted = int(document.get("version") or 1)
            version = wanted if wanted > latest else latest + 1  # the form's own version, unless already taken
            document["id"] = flow_id
            document["version"] = version
            flow = parse_flow(dict(document), report.source_name)
            text = to_yaml(document, report.source_name)
            row = await questionnaires.store_flow(
                session,
                flow_id=flow_id,
                version=version,
                organisation_id=organisation_id,
                source_name=report.source_name,
                document=text,
                report=report.to_json(),
            )
            await audit.append(
                session,
                actor_id=actor_id,
                actor=actor,
                action="questionnaire uploaded",
                target=f"questionnaire:{row.id}",
                detail=f"{flow_id} v{version}",
            )
        if not self.library.has(flow.id, flow.version):
            self.library.add(flow)
        return Questionnaire(flow, False, organisation_id, report)

    def picture(self, questionnaire: Questionnaire, language: str | None = None) -> str:
        return svg(questionnaire.flow, language)


def _library_latest(library: FlowLibrary, flow_id: str) -> int:
    try:
        return library.latest(flow_id).version
    except FlowError:
        return 0


def _yaml_load(text: str) -> Any:
    import yaml

    from flows.loader import FlowYamlLoader

    return yaml.load(text, Loader=FlowYamlLoader)  # noqa: S506 - FlowYamlLoader is a SafeLoader
