"""Bar charts as inline SVG, drawn on the server: no script, no CDN, readable when printed.

`stacked_bars(columns, series)` draws one bar per column, stacked by series, with the series
named in a legend and every bar's numbers in its tooltip (<title>)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

# Colour per series name; unknown names take the next of the spare ones, in order.
_COLOURS = {"done": "#2e7d32", "failed": "#c62828"}
_SPARE = ("#c62828", "#ef6c00", "#6a1b9a", "#1565c0", "#00838f", "#5d4037", "#9e9d24")


def colours(names: Sequence[str]) -> dict[str, str]:
    spare = iter(_SPARE * 4)
    return {name: _COLOURS.get(name) or next(spare) for name in names}


def stacked_bars(labels: Sequence[str], series: Mapping[str, Sequence[int]], *, title: str,
                 tick_every: int = 1, width: int = 720, height: int = 180) -> str:
    """An SVG of `len(labels)` bars; `series` maps a name to one value per label."""
    top, bottom, left = 24, 30, 40
    plot_h = height - top - bottom
    n = max(len(labels), 1)
    step = (width - left - 8) / n
    totals = [sum(vals[i] for vals in series.values()) for i in range(len(labels))]
    peak = max(totals, default=0) or 1
    fill = colours(list(series))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{escape(title)}" class="chart">',
             f'<text x="{left}" y="14" class="chart-title">{escape(title)}</text>',
             f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 8}" y2="{top + plot_h}" '
             'stroke="#999"/>',
             f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" class="axis">{peak}</text>',
             f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" class="axis">0</text>']
    for i, label in enumerate(labels):
        x = left + i * step
        y: float = top + plot_h
        tip = f"{label}: " + ", ".join(f"{vals[i]} {name}" for name, vals in series.items())
        for name, vals in series.items():
            if not vals[i]:
                continue
            h = vals[i] / peak * plot_h
            y -= h
            parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(step - 2, 1):.1f}" '
                         f'height="{h:.1f}" fill="{fill[name]}"><title>{escape(tip)}</title>'
                         "</rect>")
        if i % tick_every == 0:
            parts.append(f'<text x="{x + step / 2:.1f}" y="{height - 14}" text-anchor="middle" '
                         f'class="axis">{escape(label)}</text>')
    x = width - 8
    for name in reversed(list(series)):
        x -= 12 + 7 * len(name) + 14
        parts.append(f'<rect x="{x}" y="5" width="10" height="10" fill="{fill[name]}"/>'
                     f'<text x="{x + 14}" y="14" class="axis">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
