"""`GET /v1/models`: the base models this backend trains and serves by id, one per registered model
family (`arkor.model_families`), the same list `check_model_reference` accepts without a cache probe."""

from __future__ import annotations

from fastapi import APIRouter

from arkor.model_families import DEFAULT_MODEL, list_families
from arkor.protocol import BaseModelList

from ..deps import CallerDep

router = APIRouter(tags=["models"])


@router.get(
    "/v1/models",
    summary="The registered base models, supported ones first, and the default",
)
def list_base_models(caller: CallerDep) -> dict:
    return BaseModelList.of(list_families(), DEFAULT_MODEL).to_wire()
