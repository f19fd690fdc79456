"""`make demo`'s curves stay on one line however long the run."""

from __future__ import annotations

from arkor.demo import SPARK, sparkline


def test_sparkline_is_one_character_per_value_up_to_its_width() -> None:
    assert sparkline([1.0, 2.0, 3.0]) == SPARK[1] + SPARK[4] + SPARK[8]


def test_a_long_curve_is_averaged_down_to_the_width_keeping_its_shape() -> None:
    falling = [float(300 - i) for i in range(300)]
    line = sparkline(falling, width=60)
    assert len(line) == 60
    assert line[0] == SPARK[-1] and line[-1] == SPARK[1]
    assert list(line) == sorted(line, reverse=True)
