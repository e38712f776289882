"""The timeline's bars: a mark per 1/48 of the horizon, a short task still visible, edges clipped."""

from __future__ import annotations

import pytest

from record_task.cli.timeline import BAR_WIDTH, bar

DAY = 86400


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ((0, DAY), "#" * 48),
        ((-3600, 1800), "#" + "." * 47),  # under way: drawn from now
        ((DAY - 60, DAY + 3600), "." * 47 + "#"),  # runs past the horizon: clipped
        ((7200, 7260), "." * 4 + "#" + "." * 43),  # a minute still gets one mark
        ((12 * 3600, 13 * 3600), "." * 24 + "##" + "." * 22),
    ],
)
def test_bars(window: tuple[int, int], expected: str) -> None:
    drawn = bar(window[0], window[1], 0, DAY)
    assert drawn == expected and len(drawn) == BAR_WIDTH
