"""`GET /v1/models`: the base models this backend trains and serves by id, one per registered model
family (`arkor.model_families`), the same list `check_model_reference` accepts without a cache probe."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from arkor.model_families import DEFAULT_MODEL, list_families
from arkor.protocol import BaseModelList

from ..deps import CallerDep
from ..errors import V1_RESPONSES
from ..wire import wire

router = APIRouter(tags=["models"], responses=V1_RESPONSES)


@router.get(
    "/v1/models",
    summary="The registered base models, supported ones first, and the default",
    response_model=BaseModelList,
)
def list_base_models(caller: CallerDep) -> JSONResponse:
    return wire(BaseModelList.of(list_families(), DEFAULT_MODEL))
