"""A run's metrics from its events: the Jobs list's summary columns and the CSV/JSON export.

Pure functions over event payloads (wire dicts as the backend stores them); the routes that read
the events, with their bounds, live in `routes_api.py`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any

# The columns every CSV starts with; the rest are each event's other keys, flattened with dots.
LEADING_COLUMNS = ("index", "type", "timestamp", "step")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def summarise_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    """`{finalLoss, evalLoss, accuracy, scorer, steps}`: the last value each event type logged (None when never)."""
    final_loss = eval_loss = accuracy = None
    scorer = None
    steps = None
    for event in events:
        kind = event.get("type")
        if kind == "training.log":
            step = event.get("step")
            if isinstance(step, int) and not isinstance(step, bool):
                steps = step if steps is None else max(steps, step)
            loss = _number(event.get("loss"))
            final_loss = loss if loss is not None else final_loss
            evaluated = _number(event.get("evalLoss"))
            eval_loss = evaluated if evaluated is not None else eval_loss
        elif kind == "evaluation.completed":
            value = _number(event.get("accuracy"))
            if value is not None:
                accuracy = value
                scorer = event.get("scorer") if isinstance(event.get("scorer"), str) else scorer
    return {"finalLoss": final_loss, "evalLoss": eval_loss, "accuracy": accuracy, "scorer": scorer, "steps": steps}


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, inner in value.items():
            _flatten(inner, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def events_csv(events: list[dict[str, Any]]) -> str:
    """One row per event; columns: index, type, timestamp, step, then every other (flattened) key in first-seen order."""
    rows: list[dict[str, Any]] = []
    columns: dict[str, None] = dict.fromkeys(LEADING_COLUMNS)
    for index, event in enumerate(events, start=1):
        flat: dict[str, Any] = {}
        _flatten(event, "", flat)
        flat["index"] = index
        rows.append(flat)
        for key in flat:
            columns.setdefault(key, None)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for flat in rows:
        writer.writerow(_cell(flat.get(column)) for column in columns)
    return buffer.getvalue()
