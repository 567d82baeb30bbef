"""Bar charts as inline SVG: readable in print and in greyscale (dark bars, the number beside each bar, hidden
cells hatched and labelled, never drawn to a length)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from summaries.report import TableView

WIDTH = 600
ROW = 24
LABEL = 230
NUMBER = 90


def bar_chart(table: TableView, hidden_text: str, *, rtl: bool = False, title: str = "", ident: str = "chart") -> str:
    rows = [r for r in table.rows if r.key != "theme:" or r.cell.count]
    if not rows:
        return ""
    top = max([r.cell.count or 0 for r in rows] + [1])
    height = ROW * len(rows) + 8
    bar_space = WIDTH - LABEL - NUMBER
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" aria-label="{escape(title, {chr(34): "&quot;"})}">',
        f'<defs><pattern id="hatch-{ident}" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#fff"/><line x1="0" y1="0" x2="0" y2="6" stroke="#777" stroke-width="2"/>'
        "</pattern></defs>",
    ]
    anchor = 'text-anchor="end" direction="rtl"' if rtl else 'text-anchor="end"'
    for index, row in enumerate(rows):
        y = 4 + index * ROW
        label = row.label if len(row.label) <= 34 else row.label[:33] + "…"
        parts.append(f'<text x="{LABEL - 8}" y="{y + 16}" {anchor} font-size="12">{escape(label)}</text>')
        if row.cell.count is None:
            parts.append(
                f'<rect x="{LABEL}" y="{y + 3}" width="{bar_space * 0.25:.1f}" height="{ROW - 8}" '
                f'fill="url(#hatch-{ident})" stroke="#555" stroke-width="0.5"/>'
            )
            parts.append(
                f'<text x="{LABEL + bar_space * 0.25 + 6:.1f}" y="{y + 16}" font-size="12" font-style="italic">'
                f"{escape(hidden_text)}</text>"
            )
            continue
        length = bar_space * row.cell.count / top
        parts.append(f'<rect x="{LABEL}" y="{y + 3}" width="{length:.1f}" height="{ROW - 8}" fill="#333"/>')
        value = row.cell.text + (f" ({row.cell.share_text})" if row.cell.share_text else "")
        parts.append(f'<text x="{LABEL + length + 6:.1f}" y="{y + 16}" font-size="12">{escape(value)}</text>')
    parts.append("</svg>")
    return "".join(parts)
