"""Task presets: what a client needs to ask a template's fine-tune the way it was trained.

Studio's Playground fills its settings from one, and endpoint code samples include its system
prompt and answer schema. `arkor.templates.scoring.task_presets` builds them from each template's
data and schema.
"""

from __future__ import annotations

from typing import Any

from ._base import WireModel


class TaskPreset(WireModel):
    template: str
    system_prompt: str
    response_format: dict[str, Any]  # OpenAI `response_format` ({"type": "json_schema", ...})
    example: str  # a user message of the template's held-out file


class TaskPresetList(WireModel):
    presets: list[TaskPreset]
