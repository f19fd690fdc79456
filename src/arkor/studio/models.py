"""`/api/models`: the base models Studio's pickers offer, read from the model-family registry.

One list for every picker (Playground, new endpoint), so a model the engine adds shows up in
Studio without editing JavaScript. Reading the registry (`arkor.model_families`) loads no torch.
"""

from __future__ import annotations

from typing import Any


def model_list() -> dict[str, Any]:
    """`{"models": [{id, name, description, offline, testOnly}], "default": id}`, supported ids first."""
    from arkor.model_families import DEFAULT_MODEL, list_families
    from arkor.protocol import BaseModelList

    return BaseModelList.of(list_families(), DEFAULT_MODEL).to_wire()
