"""`/api/models`: the base models Studio's pickers offer, read from the engine's model registry.

One list for every picker (Playground, new endpoint), so a model the engine adds shows up in
Studio without editing JavaScript. Reading the registry loads no torch.
"""

from __future__ import annotations

from typing import Any


def model_list() -> dict[str, Any]:
    """`{"models": [{id, name, description, offline, testOnly}], "default": id}`, supported ids first."""
    from arkor.engine.models.registry import DEFAULT_MODEL, SUPPORTED_MODELS, TINY_TEST_MODEL, get_model_spec

    models = []
    for model_id in (*SUPPORTED_MODELS, TINY_TEST_MODEL):
        spec = get_model_spec(model_id)
        models.append({"id": spec.id, "name": spec.display_name, "description": spec.description,
                       "offline": spec.offline_available, "testOnly": model_id == TINY_TEST_MODEL})
    return {"models": models, "default": DEFAULT_MODEL}
