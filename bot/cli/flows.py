"""`python -m bot flows lint|import|diagram|extract|update|merge`: questionnaire tools."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.common import Commands
from config.errors import VoicesError
from config.settings import Settings
from flows.loader import DEFINITIONS_DIR, advise, flow_files, load_flow, shipped_library


def add_commands(commands: Commands) -> None:
    flows = commands.add_parser("flows", help="questionnaire tools", description="Questionnaire (flow) tools.")
    f_commands = flows.add_subparsers(dest="flows_command", required=True, metavar="ACTION")
    lint = f_commands.add_parser(
        "lint",
        help="validate flow files",
        description="Validate flow files (default: every shipped flow, earlier versions included). Problems fail "
        "the file; warnings (e.g. a question in a CSO flow that asks for a name) are printed under it.",
    )
    lint.add_argument("files", nargs="*", type=Path, help="flow YAML files")
    lint.set_defaults(handler=cmd_flows_lint)
    xlsform = f_commands.add_parser(
        "import",
        help="convert an XLSForm (KoboToolbox/ODK) into a flow",
        description="Convert an XLSForm (.xlsx, .xls, .csv or .md) into a flow YAML file. Questions a Telegram "
        "chat cannot ask (location, photo, audio, repeats...) are listed by row; the import fails unless "
        "--skip-unsupported is given.",
    )
    xlsform.add_argument("form", type=Path, help="the XLSForm file")
    xlsform.add_argument(
        "--out", help="where to write the flow (default: flows/definitions/<form id>.yaml; '-' prints it)"
    )
    xlsform.add_argument("--skip-unsupported", action="store_true", help="import the rest and list what was left out")
    xlsform.add_argument(
        "--audience",
        choices=("cso", "survivor"),
        default="cso",
        help="who answers (default: cso). A survivor flow can have no required question and asks the age band",
    )
    xlsform.add_argument("--force", action="store_true", help="overwrite the output file if it exists")
    xlsform.set_defaults(handler=cmd_flows_import)
    diagram = f_commands.add_parser(
        "diagram",
        help="print a flow as a Mermaid diagram",
        description="Print a flow as a Mermaid state diagram (paste it into any Mermaid viewer).",
    )
    diagram.add_argument("flow", help="a shipped flow id (e.g. roadmap_feedback) or a flow YAML file")
    diagram.set_defaults(handler=cmd_flows_diagram)
    for action, purpose in (
        ("extract", "write flow texts to locales/flows/<flow>.pot for translators"),
        ("update", "extract, then create or update locales/flows/<lang>/<flow>.po"),
        ("merge", "write translated .po files back into the flow files"),
    ):
        tool = f_commands.add_parser(action, help=purpose, description=purpose[0].upper() + purpose[1:] + ".")
        tool.add_argument("files", nargs="*", type=Path, help="flow YAML files (default: every shipped flow)")
        tool.add_argument("-o", "--output", type=Path, help="catalog directory (default: locales/flows)")
        if action != "extract":
            tool.add_argument("--languages", help="comma-separated languages, e.g. es,pt (default: all of them)")
        tool.set_defaults(handler=cmd_flows_translation)


def cmd_flows_lint(args: argparse.Namespace, settings: Settings) -> int:
    files = args.files or flow_files()
    failed = 0
    for path in files:
        try:
            flow = load_flow(path)
        except VoicesError as exc:
            failed += 1
            print(f"FAIL {exc}")
        else:
            print(f"ok   {path}: {flow.id} v{flow.version}, {len(flow.steps)} steps, {', '.join(flow.languages)}")
            for warning in advise(flow):
                print(f"     warning: {warning}")
    return 1 if failed else 0


def cmd_flows_import(args: argparse.Namespace, settings: Settings) -> int:
    from flows.xlsform import import_xlsform

    result = import_xlsform(
        args.form, skip_unsupported=args.skip_unsupported, audience=args.audience, progress=sys.stderr.isatty()
    )
    document = result.document
    for title, lines in (("Warnings", result.warnings), ("Left out", result.left_out), ("Dropped", result.dropped)):
        if lines:
            print(f"{title}:", *(f"  {line}" for line in lines), sep="\n", file=sys.stderr)
    text = result.yaml(args.form.name)
    if args.out == "-":
        print(text, end="")
        return 0
    out = Path(args.out) if args.out else DEFINITIONS_DIR / f"{document['id']}.yaml"
    if out.exists() and not args.force:
        print(f"error: {out} exists; use --force to overwrite it, or --out to write elsewhere", file=sys.stderr)
        return 2
    if out.resolve().parent == DEFINITIONS_DIR.resolve():
        others = [p for p in flow_files() if p.resolve() != out.resolve()]
        clash = [p for p in others if load_flow(p).key == (document["id"], document["version"])]
        if clash:
            print(
                f"error: {clash[0]} already defines flow {document['id']} version {document['version']}; "
                "change form_id or version in the settings sheet",
                file=sys.stderr,
            )
            return 2
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(
        f"wrote {out}: flow {document['id']} v{document['version']}, {len(document['steps'])} steps, "
        f"{', '.join(document['languages'])}"
    )
    return 0


def cmd_flows_diagram(args: argparse.Namespace, settings: Settings) -> int:
    from flows.diagram import mermaid

    path = Path(args.flow)
    flow = load_flow(path) if path.suffix in (".yaml", ".yml") or path.exists() else shipped_library().latest(args.flow)
    print(mermaid(flow), end="")
    return 0


def cmd_flows_translation(args: argparse.Namespace, settings: Settings) -> int:
    """`flows extract | update | merge`: the translators' workflow for flow texts (see flows/translation.py)."""
    from flows import translation

    files = args.files or sorted(DEFINITIONS_DIR.glob("*.yaml"))
    output = args.output or translation.FLOW_LOCALES_DIR
    languages = (
        [x.strip() for x in args.languages.split(",") if x.strip()] if getattr(args, "languages", None) else None
    )
    if args.flows_command == "extract":
        lines = translation.extract(files, output)
    elif args.flows_command == "update":
        lines = translation.update(files, languages or (), output)
    else:
        lines, failed = [], 0
        for path in files:
            try:
                lines += translation.merge(path, languages, output)
            except VoicesError as exc:
                failed += 1
                lines.append(f"FAIL {exc}")
        print("\n".join(lines))
        return 1 if failed else 0
    print("\n".join(lines))
    return 0
