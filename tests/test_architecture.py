"""The dependency rules of the house (see ARCHITECTURE in README, "How it is built"), checked on every import of
every product module, read with `ast`: imports inside functions count as much as those at the top."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "consultations", "dashboard", "flows", "storage", "summaries", "config", "sandbox")
"""The product's top-level packages (dashboard/ may not exist yet; its rules are ready for it)."""
ALLOWED: dict[str, set[str]] = {
    "bot": {"consultations", "flows", "storage", "config"},
    "dashboard": {"consultations", "summaries", "flows", "storage", "config"},
    "consultations": {"flows", "storage", "config"},
    "summaries": {"storage", "flows", "config"},
    "flows": {"config"},
    "storage": {"config"},
    "config": set(),
    "sandbox": set(),
}
"""Which package may import which: the picture's arrows and what they lead to (bot may use the flows and
storage that consultations is built on, e.g. the CLI's flow tools, opening the database)."""
EXCEPTIONS = {
    # The process composition: `python -m bot run` serves the sandbox (dev only, when no token is set) and the
    # dashboard in the same event loop as the bot, so this one module starts them.
    ("bot/runners.py", "sandbox"),
    ("bot/runners.py", "dashboard"),
    # `python -m bot summary CODE` prints a consultation's counts: the command line's view of summaries.
    ("bot/cli/summary.py", "summaries"),
    ("bot/cli/consultation.py", "summaries"),
    # `quotes` (the written answers' review) and `notify` (the results message) are summaries' commands too.
    ("bot/cli/quotes.py", "summaries"),
    ("bot/cli/notify.py", "summaries"),
    # The process composition gives the core the text of /results, which summaries make from publications.
    ("bot/runners.py", "summaries"),
}
ONLY_IN = {
    "telegram": {"bot"},
    "sqlalchemy": {"storage"},
    "sqlmodel": {"storage"},
    "alembic": {"storage"},
    "aiohttp": {"bot", "dashboard", "sandbox"},
}
"""Third-party packages only some of ours may import: Telegram in the adapter, SQL in storage, HTTP in the
adapters and the sandbox."""


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. bot.telegram
    path: str  # its file, relative to the project, e.g. bot/telegram.py
    target: str  # the imported module, absolute, e.g. telegram.ext
    top_level: bool  # at module level (not inside a function or an `if TYPE_CHECKING`)


def product_files() -> list[Path]:
    return sorted(p for package in PACKAGES if (ROOT / package).is_dir() for p in (ROOT / package).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> Iterator[Import]:
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    top = {id(node) for node in tree.body}
    relative = str(path.relative_to(ROOT))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, relative, alias.name, id(node) in top)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            for alias in node.names:
                # `from pkg import mod` imports a module when pkg/mod.py exists
                candidate = f"{target}.{alias.name}"
                is_module = (ROOT / Path(*candidate.split("."))).with_suffix(".py").exists()
                yield Import(module, relative, candidate if is_module else target, id(node) in top)


ALL_IMPORTS = [found for path in product_files() for found in imports_of(path)]


def ours(name: str) -> str | None:
    top = name.split(".")[0]
    return top if top in PACKAGES else None


def test_the_product_is_read() -> None:
    modules = {i.module for i in ALL_IMPORTS}
    assert {"bot.telegram", "consultations.service", "flows.engine", "storage.conversations"} <= modules


def test_packages_import_only_what_the_picture_allows() -> None:
    wrong = sorted(
        f"{i.path} imports {i.target}"
        for i in ALL_IMPORTS
        if (theirs := ours(i.target)) is not None
        and (mine := ours(i.module)) is not None
        and theirs != mine
        and theirs not in ALLOWED[mine]
        and (i.path, theirs) not in EXCEPTIONS
    )
    assert not wrong, "\n".join(wrong)


def test_no_cycle_between_packages() -> None:
    edges: dict[str, set[str]] = {package: set() for package in PACKAGES}
    for i in ALL_IMPORTS:
        mine, theirs = ours(i.module), ours(i.target)
        if mine and theirs and mine != theirs:
            edges[mine].add(theirs)
    assert not cycles(edges), cycles(edges)


def test_no_cycle_between_modules_at_import_time() -> None:
    """Top-level imports between our modules form no cycle (a lazy import inside a function may close one)."""
    edges: dict[str, set[str]] = {}
    for i in ALL_IMPORTS:
        if i.top_level and ours(i.target) and i.target != i.module:
            edges.setdefault(i.module, set()).add(i.target)
    assert not cycles(edges), cycles(edges)


@pytest.mark.parametrize("library", sorted(ONLY_IN))
def test_libraries_are_imported_only_where_they_belong(library: str) -> None:
    wrong = sorted(
        f"{i.path} imports {i.target}"
        for i in ALL_IMPORTS
        if i.target.split(".")[0] == library and ours(i.module) not in ONLY_IN[library]
    )
    assert not wrong, "\n".join(wrong)


def test_no_private_module_of_another_library() -> None:
    """`telegram._utils`, `pyxform.something._internal`...: a public API exists, or one comment says why not."""
    wrong = sorted(
        f"{i.path} imports {i.target}"
        for i in ALL_IMPORTS
        if not ours(i.target) and any(part.startswith("_") for part in i.target.split(".") if part != "__future__")
    )
    assert not wrong, "\n".join(wrong)


def test_bot_and_dashboard_never_import_each_other() -> None:
    wrong = sorted(
        f"{i.path} imports {i.target}"
        for i in ALL_IMPORTS
        if {ours(i.module), ours(i.target)} == {"bot", "dashboard"} and i.path != "bot/runners.py"
    )
    assert not wrong, "\n".join(wrong)


def test_no_control_flow_assert_in_product_code() -> None:
    """`assert` vanishes under `python -O`: product code raises real errors instead (migrations excepted)."""
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in product_files()
        if "migrations" not in path.parts
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assert)
    ]
    assert not found, found


def test_session_status_has_one_owner() -> None:
    """Only SessionState's methods (flows/session.py) change a session's status, and only storage writes it."""
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in product_files()
        if path.relative_to(ROOT).parts[0] not in ("storage",) and path != ROOT / "flows" / "session.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Attribute) and target.attr == "status"
    ]
    assert not found, found


def test_each_package_says_what_it_is_for() -> None:
    missing = [
        package
        for package in PACKAGES
        if (ROOT / package).is_dir()
        and not (ast.get_docstring(ast.parse((ROOT / package / "__init__.py").read_text(encoding="utf-8"))) or "")
    ]
    assert not missing


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Every cycle found by a depth-first search (one per back edge)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
