"""The runs page's charts: SVG drawn on the server, every bar's numbers in its tooltip."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from flx.serve.chart import stacked_bars


def test_bars_stack_per_series_and_say_their_numbers() -> None:
    svg = stacked_bars(["06 10h", "06 11h", "06 12h"],
                       {"done": [4, 0, 2], "failed": [1, 0, 0]}, title="Records per hour")
    root = ET.fromstring(svg)  # well-formed: the page inlines it as it is
    ns = "{http://www.w3.org/2000/svg}"
    bars = [r for r in root.iter(f"{ns}rect") if r.find(f"{ns}title") is not None]
    assert len(bars) == 3  # no bar for a zero
    tips = [r.find(f"{ns}title").text for r in bars]  # type: ignore[union-attr]
    assert tips[0] == "06 10h: 4 done, 1 failed"
    heights = [float(r.get("height") or 0) for r in bars]
    assert heights[0] == 4 * heights[1]  # 4 done over 1 failed, on one scale
    assert "Records per hour" in svg and ">5<" in svg  # the scale's top is the tallest bar


def test_names_are_escaped() -> None:
    svg = stacked_bars(["<b>"], {"a&b": [1]}, title="x < y")
    ET.fromstring(svg)
    assert "<b>" not in svg and "a&amp;b" in svg and not re.search(r"x < y", svg)
