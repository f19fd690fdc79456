"""A run's curves: a plain-text chart for the terminal (`arkor start`) and a PNG (`arkor jobs show --plot`).

The text chart needs nothing beyond the standard library; the PNG needs matplotlib, the optional
extra `arkor[plot]`, imported only when a PNG is asked for.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Point = tuple[float, float]

PLOT_EXTRA_HINT = "pip install 'arkor[plot]'"


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed; the message names the extra that brings it."""


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


@dataclass
class RunCurves:
    """Per-step series of one run, filled from `training.log` / `evaluation.completed` data.
    Missing, None, NaN and infinite values are left out of their series."""

    loss: list[Point] = field(default_factory=list)
    eval_loss: list[Point] = field(default_factory=list)
    learning_rate: list[Point] = field(default_factory=list)
    tokens_per_second: list[Point] = field(default_factory=list)
    accuracy: list[Point] = field(default_factory=list)
    field_accuracy: dict[str, list[Point]] = field(default_factory=dict)

    def add_log(
        self,
        step: Any,
        *,
        loss: Any = None,
        eval_loss: Any = None,
        learning_rate: Any = None,
        tokens_per_second: Any = None,
    ) -> None:
        x = _finite(step)
        if x is None:
            return
        for series, value in (
            (self.loss, loss),
            (self.eval_loss, eval_loss),
            (self.learning_rate, learning_rate),
            (self.tokens_per_second, tokens_per_second),
        ):
            y = _finite(value)
            if y is not None:
                series.append((x, y))

    def add_evaluation(self, step: Any, accuracy: Any, fields: Any = None) -> None:
        x = _finite(step)
        if x is None:
            return
        y = _finite(accuracy)
        if y is not None:
            self.accuracy.append((x, y))
        for name, value in (fields or {}).items() if isinstance(fields, dict) else ():
            share = _finite(value)
            if share is not None:
                self.field_accuracy.setdefault(str(name), []).append((x, share))

    def add_event(self, event: dict[str, Any]) -> None:
        """One event as the wire carries it (camelCase keys)."""
        kind = event.get("type")
        if kind == "training.log":
            self.add_log(
                event.get("step"),
                loss=event.get("loss"),
                eval_loss=event.get("evalLoss"),
                learning_rate=event.get("learningRate"),
                tokens_per_second=event.get("tokensPerSecond"),
            )
        elif kind == "evaluation.completed":
            self.add_evaluation(event.get("step"), event.get("accuracy"), event.get("fields"))

    @classmethod
    def from_events(cls, events: Iterable[dict[str, Any]]) -> RunCurves:
        curves = cls()
        for event in events:
            if isinstance(event, dict):
                curves.add_event(event)
        return curves

    def is_empty(self) -> bool:
        return not (
            self.loss
            or self.eval_loss
            or self.learning_rate
            or self.tokens_per_second
            or self.accuracy
            or any(self.field_accuracy.values())
        )


# ---- the terminal chart -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Glyphs:
    markers: tuple[str, ...]
    tick: str
    axis: str
    corner: str
    rule: str
    bottom_tick: str


UNICODE = _Glyphs(markers=("●", "○", "◆"), tick="┤", axis="│", corner="└", rule="─", bottom_tick="┬")
ASCII = _Glyphs(markers=("*", "o", "#"), tick="+", axis="|", corner="+", rule="-", bottom_tick="+")


def can_encode_unicode(stream: Any) -> bool:
    """Whether `stream` can print the chart's box-drawing characters and markers."""
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        "".join(UNICODE.markers + (UNICODE.tick, UNICODE.axis, UNICODE.corner, UNICODE.rule)).encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _step_label(x: float) -> str:
    return str(int(x)) if x == int(x) else f"{x:g}"


def text_chart(
    title: str,
    series: list[tuple[str, list[Point]]],
    *,
    width: int = 80,
    height: int = 8,
    unicode: bool = True,
    y_range: tuple[float, float] | None = None,
    y_format: str = "{:.4g}",
) -> list[str]:
    """Lines of a marker chart of `series` (name, points) over steps, at most `width` wide (10 plot
    columns at the least); [] when no series has a point.

    Points falling in the same column are averaged; a later series is drawn over an earlier one.
    `y_range` fixes the vertical axis (accuracy: 0..1); otherwise it spans the data.
    """
    glyphs = UNICODE if unicode else ASCII
    drawn = [(name, [(x, y) for x, y in points if math.isfinite(x) and math.isfinite(y)]) for name, points in series]
    drawn = [(name, points) for name, points in drawn if points]
    if not drawn:
        return []
    xs = [x for _, points in drawn for x, _ in points]
    ys = [y for _, points in drawn for _, y in points]
    x_lo, x_hi = min(xs), max(xs)
    y_lo, y_hi = y_range if y_range is not None else (min(ys), max(ys))
    flat = y_hi <= y_lo
    height = max(height, 2)

    labels = {0: y_format.format(y_hi), height - 1: y_format.format(y_lo)}
    if flat:
        labels = {(height - 1) // 2: y_format.format(y_lo)}
    label_width = max(len(text) for text in labels.values())
    columns = max(width - label_width - 2, 10)

    def column(x: float) -> int:
        return 0 if x_hi == x_lo else round((x - x_lo) / (x_hi - x_lo) * (columns - 1))

    def row(y: float) -> int:
        if flat:
            return (height - 1) // 2
        share = (min(max(y, y_lo), y_hi) - y_lo) / (y_hi - y_lo)
        return round((1 - share) * (height - 1))

    grid = [[" "] * columns for _ in range(height)]
    for index, (_, points) in enumerate(drawn):
        marker = glyphs.markers[index % len(glyphs.markers)]
        buckets: dict[int, list[float]] = {}
        for x, y in points:
            buckets.setdefault(column(x), []).append(y)
        for col, values in buckets.items():
            grid[row(sum(values) / len(values))][col] = marker

    legend = "  ".join(f"{glyphs.markers[i % len(glyphs.markers)]} {name}" for i, (name, _) in enumerate(drawn))
    fit = max(width, label_width + 12)
    lines = [f"{title}  {legend}"] if len(title) + 2 + len(legend) <= fit else [title[:fit], legend[:fit]]
    for r in range(height):
        label = labels.get(r, "")
        lines.append(f"{label:>{label_width}} {glyphs.tick if label else glyphs.axis}{''.join(grid[r])}".rstrip())
    lines.append(" " * (label_width + 1) + glyphs.corner + glyphs.rule * columns)
    left, right = _step_label(x_lo), _step_label(x_hi)
    pad = " " * (label_width + 2)
    if x_hi == x_lo:
        lines.append(f"{pad}{left}")
    else:
        gap = max(columns - len(left) - len(right), 1)
        lines.append(f"{pad}{left}{' ' * gap}{right}")
    return lines


def terminal_report(curves: RunCurves, *, width: int = 80, unicode: bool = True) -> list[str]:
    """The end-of-run charts: loss (train and eval), then task accuracy when the run was scored."""
    lines = text_chart(
        "loss by step", [("train", curves.loss), ("eval", curves.eval_loss)], width=width, height=8, unicode=unicode
    )
    accuracy = text_chart(
        "task accuracy by step (all fields exact)",
        [("accuracy", curves.accuracy)],
        width=width,
        height=5,
        unicode=unicode,
        y_range=(0.0, 1.0),
        y_format="{:.0%}",
    )
    if lines and accuracy:
        lines.append("")
    return lines + accuracy


# ---- the PNG ------------------------------------------------------------------------------------


def _require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotUnavailable(
            f"Writing a plot needs matplotlib, which is not installed. Install the plot extra: {PLOT_EXTRA_HINT}"
        ) from None


def check_png_support() -> None:
    """Raise PlotUnavailable (naming the extra) before any work when matplotlib is missing."""
    _require_matplotlib()


def write_png(curves: RunCurves, path: Path, *, title: str) -> Path:
    """Write the run's curves to `path` as a PNG: one panel per kind of series that has points."""
    _require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # Agg: no display, no global pyplot state
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    panels: list[tuple[str, list[tuple[str, list[Point], str]]]] = []
    if curves.loss or curves.eval_loss:
        panels.append(("loss", [("train loss", curves.loss, "-"), ("eval loss", curves.eval_loss, "o--")]))
    if curves.learning_rate:
        panels.append(("learning rate", [("learning rate", curves.learning_rate, "-")]))
    if curves.tokens_per_second:
        panels.append(("tokens/s", [("tokens/s", curves.tokens_per_second, "-")]))
    if curves.accuracy or curves.field_accuracy:
        panels.append(
            (
                "task accuracy",
                [("all fields exact", curves.accuracy, "o-")]
                + [(name, points, "o--") for name, points in sorted(curves.field_accuracy.items())],
            )
        )
    if not panels:
        raise ValueError("the job has no logged steps to plot yet")

    figure = Figure(figsize=(8, 2.6 * len(panels)), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(panels), 1, squeeze=False, sharex=True)[:, 0]
    for ax, (name, lines) in zip(axes, panels):
        for label, points, style in lines:
            if points:
                if len(points) <= 40 and "o" not in style:
                    style += "o"  # few points (one alone draws no line): mark each
                ax.plot([x for x, _ in points], [y for _, y in points], style, label=label, markersize=4)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(name)
        if name == "task accuracy":
            ax.set_ylim(-0.02, 1.02)
            ax.yaxis.set_major_formatter(lambda value, _pos: f"{value:.0%}")
        ax.grid(True, alpha=0.3)
        if sum(1 for _, points, _ in lines if points) > 1:
            ax.legend(loc="best", fontsize="small")
    axes[-1].set_xlabel("step")
    figure.suptitle(title)
    path = Path(path)
    figure.savefig(path, format="png")
    return path
