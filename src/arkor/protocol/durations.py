"""Durations as users write them in a trainer ("90s", "3m", "1h30m", "2.5m") or as seconds."""

from __future__ import annotations

import math
import re
from typing import Any

_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION = re.compile(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?")
MAX_DURATION_S = 7 * 24 * 3600.0


def parse_duration(value: Any) -> float:
    """Seconds in `value`: a positive number of seconds, or a string of hours/minutes/seconds parts
    like "90s", "3m", "1h30m". Raises ValueError saying what is accepted."""
    hint = 'write it like "90s", "3m" or "1h30m" (or a number of seconds)'
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"must be a duration; {hint}")
    if isinstance(value, str):
        text = value.strip().lower()
        match = _DURATION.fullmatch(text)
        if not text or match is None or not any(match.groups()):
            raise ValueError(f"is not a duration; {hint}")
        seconds = sum(float(part) * _UNIT_SECONDS[unit] for part, unit in zip(match.groups(), "hms") if part)
    else:
        seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"must be more than zero seconds; {hint}")
    if seconds > MAX_DURATION_S:
        raise ValueError("must be at most 7 days")
    return seconds
