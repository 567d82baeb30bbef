"""A questionnaire as an SVG picture, laid out from the same machine config the engine runs: one box per step in
file order, the usual way on as a straight arrow down, branches and jumps as labelled arrows on the side.

Drawn on the server (no JavaScript), readable in print and in greyscale; every text is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape

from flows.machine import machine_config
from flows.schema import FlowDefinition, Step

BOX_X = 24
BOX_WIDTH = 460
LINE = 17
PAD = 10
GAP = 30
LANE_START = BOX_X + BOX_WIDTH + 26
LANE_STEP = 16
TOP = 64
MAX_TEXT = 62


@dataclass(frozen=True)
class _Edge:
    source: str
    dest: str
    label: str


def _short(text: str, limit: int = MAX_TEXT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _condition_label(transition: dict[str, object]) -> str:
    conditions = transition.get("conditions") or ()
    names = [str(getattr(c, "__name__", c)) for c in conditions]  # type: ignore[attr-defined]
    return "if " + " and ".join(names) if names else ""


def _lines(step: Step, index: int, language: str, fallback: str) -> list[tuple[str, str]]:
    """(css class, text) lines of a step's box."""
    lines = [("id", f"{index + 1}. {step.id} · {step.type}")]
    text = step.text.get(language) or step.text.get(fallback) or ""
    if text:
        lines.append(("text", _short(text)))
    if step.relevant:
        lines.append(("note", _short(f"only when {step.relevant}")))
    return lines


def svg(flow: FlowDefinition, language: str | None = None) -> str:
    """The flow as a standalone SVG document (UTF-8 text)."""
    language = language if language in flow.languages else flow.default_language
    config = machine_config(flow)
    edges = [
        _Edge(str(t["source"]), str(t["dest"]), _condition_label(t))
        for t in config["transitions"]  # conditional edges first, in file order, as the engine tries them
    ]
    order = {step.id: i for i, step in enumerate(flow.steps)}
    boxes: dict[str, tuple[int, int]] = {}  # step id -> (top, height)
    y = TOP
    for index, step in enumerate(flow.steps):
        height = PAD * 2 + LINE * len(_lines(step, index, language, flow.default_language))
        boxes[step.id] = (y, height)
        y += height + GAP
    side = [e for e in edges if not (order[e.dest] == order[e.source] + 1 and not e.label)]
    width = LANE_START + LANE_STEP * (len(side) + 1) + 260
    height = y + 10
    title = flow.title.get(language) or flow.title.get(flow.default_language) or flow.id
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-labelledby="t d" font-family="sans-serif">',
        f'<title id="t">{escape(f"{title} ({flow.id} v{flow.version})")}</title>',
        f'<desc id="d">{escape(f"{len(flow.steps)} steps; arrows show where each step leads.")}</desc>',
        "<defs><marker id='arrow' viewBox='0 0 10 10' refX='10' refY='5' markerWidth='8' markerHeight='8' "
        "orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='#222'/></marker></defs>",
        "<style>.id{font-weight:bold;font-size:14px}.text{font-size:13px}.note{font-size:12px;font-style:italic}"
        ".edge{fill:none;stroke:#222;stroke-width:1.5}.jump{fill:none;stroke:#222;stroke-width:1.5;"
        "stroke-dasharray:6 3}.label{font-size:12px}</style>",
        f'<text x="{BOX_X}" y="30" font-size="18" font-weight="bold">{escape(_short(title, 90))}</text>',
        f'<text x="{BOX_X}" y="50" font-size="13">{escape(f"{flow.id} v{flow.version} · {flow.audience}")}</text>',
    ]
    for index, step in enumerate(flow.steps):
        top, box_height = boxes[step.id]
        stroke = 'stroke-width="3"' if step.type == "end" else 'stroke-width="1.5"'
        out.append(
            f'<rect x="{BOX_X}" y="{top}" width="{BOX_WIDTH}" height="{box_height}" rx="8" fill="#fff" '
            f'stroke="#222" {stroke}/>'
        )
        for n, (css, text) in enumerate(_lines(step, index, language, flow.default_language)):
            out.append(
                f'<text class="{css}" x="{BOX_X + PAD}" y="{top + PAD + LINE * (n + 1) - 4}">{escape(text)}</text>'
            )
    centre = BOX_X + BOX_WIDTH // 2
    lane = 0
    for edge in edges:
        s_top, s_height = boxes[edge.source]
        d_top, d_height = boxes[edge.dest]
        if edge in side:
            lane += 1
            x = LANE_START + LANE_STEP * lane
            y1 = s_top + s_height // 2 + (6 if edge.label else -6)
            y2 = d_top + d_height // 2
            out.append(
                f'<path class="{"jump" if edge.label else "edge"}" marker-end="url(#arrow)" '
                f'd="M{BOX_X + BOX_WIDTH},{y1} H{x} V{y2} H{BOX_X + BOX_WIDTH + 2}"/>'
            )
            if edge.label:
                out.append(
                    f'<text class="label" x="{x + 6}" y="{y1 + 14}">{escape(_short(edge.label, 40))}'
                    f"<title>{escape(edge.label)}</title></text>"
                )
        else:
            out.append(f'<path class="edge" marker-end="url(#arrow)" d="M{centre},{s_top + s_height} V{d_top - 1}"/>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
