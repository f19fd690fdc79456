"""Which models a caller may name for inference or a deployment (registered ids, repos already in the
backend's Hugging Face cache, local folders under ARKOR_MODEL_ROOTS) or train (the same, and any hub
repo id), nothing else. A local folder
anywhere on the machine would be a read of the backend's files; the refusal is one message whether or
not the named path exists, so it is no existence oracle either."""

from __future__ import annotations

import os
import re

from .errors import ApiError
from .settings import ServerSettings

# `owner/name` as the hub spells it; a hub-looking name that exists on disk is treated as a path.
_HUB_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/[A-Za-z0-9][A-Za-z0-9_.-]{0,95}")


def check_model_reference(settings: ServerSettings, model_id: str, *, param: str, any_hub_repo: bool = False) -> None:
    """Raise a 400 naming ARKOR_MODEL_ROOTS unless the backend may load `model_id` for any caller.
    `any_hub_repo` (a training job, whose worker fetches from the hub) accepts hub repo ids not cached yet."""
    from arkor.engine.models.registry import SUPPORTED_MODELS, TINY_TEST_MODEL, _REGISTRY, hub_cache_has

    if model_id in _REGISTRY:
        return
    if _HUB_REPO.fullmatch(model_id) and ".." not in model_id and not os.path.lexists(model_id):
        if any_hub_repo or hub_cache_has(model_id):
            return
    else:
        roots = settings.roots(settings.model_roots)
        try:
            resolved = os.path.realpath(os.path.expanduser(model_id))
        except (OSError, ValueError):
            resolved = ""
        if resolved and os.path.isabs(os.path.expanduser(model_id)):
            for root in roots:
                if resolved == str(root) or resolved.startswith(str(root).rstrip("/") + "/"):
                    return
    raise ApiError(
        400,
        f"{param} {model_id!r} is not a model this backend serves: use a registered model "
        f"({', '.join([*SUPPORTED_MODELS, TINY_TEST_MODEL])}) or a Hugging Face repo already in the backend's cache; "
        "a local model folder must be an absolute path under ARKOR_MODEL_ROOTS (set by the operator)",
        code="model_not_allowed",
        param=param,
    )
