"""Identity: anonymous tokens, the OAuth config (off on a self-hosted backend) and `/v1/me`."""

from __future__ import annotations

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse

from arkor.protocol import AnonymousTokenRequest, AnonymousTokenResponse, CliConfig, MeResponse, Org, User

from ..deps import CallerDep, ServicesDep
from ..errors import V1_RESPONSES, ApiError
from ..identity import ANONYMOUS_OFF_MESSAGE, anonymous_signup_allowed, create_identity, user_and_orgs
from ..wire import wire

router = APIRouter(tags=["auth"], responses=V1_RESPONSES)


@router.post(
    "/v1/auth/anonymous",
    summary="Create an anonymous user with a personal org and a token",
    response_model=AnonymousTokenResponse,
)
def create_anonymous_token(
    services: ServicesDep, http_request: Request, request: AnonymousTokenRequest | None = Body(default=None)
) -> JSONResponse:
    settings = services.settings
    host = settings.bind_host or (http_request.scope.get("server") or ("", 0))[0] or ""
    if not anonymous_signup_allowed(settings.allow_anonymous, host):
        raise ApiError(
            403, ANONYMOUS_OFF_MESSAGE.format(host=host or "an unknown address"), code="anonymous_signup_disabled"
        )
    kind = request.kind if request else "cli"
    identity = create_identity(services.db, user_name=None, anonymous=True, token_kind="anonymous")
    return wire(
        AnonymousTokenResponse(
            token=identity.token,
            anonymous_id=identity.user.id,
            kind=kind,
            personal_org=Org(id=identity.org.id, slug=identity.org.slug, name=identity.org.name),
        )
    )


@router.get(
    "/v1/auth/cli/config", summary="OAuth settings (all null: OAuth is off on this backend)", response_model=CliConfig
)
def cli_config() -> JSONResponse:
    return JSONResponse(CliConfig().model_dump(mode="json", by_alias=True))  # the nulls are the answer


@router.get("/v1/me", summary="The caller and the orgs it belongs to", response_model=MeResponse)
def me(services: ServicesDep, caller: CallerDep) -> JSONResponse:
    user, orgs = user_and_orgs(services.db, caller.user_id, caller.org_ids)
    assert user is not None
    return wire(
        MeResponse(
            user=User(id=user.id, name=user.name, anonymous=user.anonymous),
            orgs=[Org(id=o.id, slug=o.slug, name=o.name) for o in orgs],
        )
    )
