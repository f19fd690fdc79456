"""`TrainerCallbacks` and how callbacks may be given: a dict, a `TrainerCallbacks`, or keywords."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

Callback = Callable[[Any], Any]


@dataclass(frozen=True)
class TrainerCallbacks:
    """Lifecycle hooks, each a plain or async function of one context; all optional.

    They fire only inside `wait()`, one at a time, each awaited before the next event is read.
    An exception from one makes `wait()` raise it at once (it is never retried).
    """

    on_started: Callback | None = None
    on_log: Callback | None = None
    on_checkpoint: Callback | None = None
    on_evaluation: Callback | None = None
    on_completed: Callback | None = None
    on_failed: Callback | None = None
    on_event: Callback | None = None
    """Every event, known types and newer ones alike (`EventContext`), before its own callback."""


CALLBACK_NAMES: tuple[str, ...] = tuple(f.name for f in fields(TrainerCallbacks))


def collect_callbacks(
    callbacks: Any, keyword_callbacks: Mapping[str, Any]
) -> tuple[TrainerCallbacks, list[tuple[str, str]]]:
    """Merge `callbacks=` with `on_*=` keywords; return the callbacks and any problems found."""
    problems: list[tuple[str, str]] = []
    chosen: dict[str, Any] = {}
    if isinstance(callbacks, TrainerCallbacks):
        chosen.update({name: getattr(callbacks, name) for name in CALLBACK_NAMES})
    elif isinstance(callbacks, Mapping):
        for name, value in callbacks.items():
            if name in CALLBACK_NAMES:
                chosen[name] = value
            else:
                close = difflib.get_close_matches(str(name), CALLBACK_NAMES, n=1, cutoff=0.6)
                hint = f" Did you mean `{close[0]}`?" if close else ""
                problems.append((f"callbacks.{name}", f"is not a callback.{hint} Allowed: {', '.join(CALLBACK_NAMES)}"))
    elif callbacks is not None:
        problems.append(("callbacks", f"must be a dict or TrainerCallbacks (got {type(callbacks).__name__})"))
    chosen.update(keyword_callbacks)
    for name, value in chosen.items():
        if value is not None and not callable(value):
            problems.append(
                (
                    name if name in keyword_callbacks else f"callbacks.{name}",
                    f"must be a function (got {type(value).__name__})",
                )
            )
    return TrainerCallbacks(**{k: v for k, v in chosen.items() if callable(v)}), problems
