"""Creating users, orgs and tokens: anonymous sign-up and operator-made team tokens share this."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from ._util import hash_token, iso_now, new_id, new_token
from .db import Database
from .models import MembershipRow, OrgRow, TokenRow, UserRow


@dataclass
class Identity:
    user: UserRow
    org: OrgRow
    token: str


def create_identity(
    db: Database,
    *,
    user_name: str | None,
    anonymous: bool,
    token_kind: str,
    org_slug: str | None = None,
    org_name: str | None = None,
) -> Identity:
    """A new user with a token, member of `org_slug` (created when missing) or of a new personal org."""
    now = iso_now()
    token = new_token("ark")
    with db.write() as session:
        user = UserRow(id=new_id("usr"), name=user_name, anonymous=anonymous, created_at=now)
        session.add(user)
        org = None
        if org_slug is not None:
            org = session.execute(select(OrgRow).where(OrgRow.slug == org_slug)).scalar_one_or_none()
        if org is None:
            org_id = new_id("org")
            slug = org_slug or f"anon-{org_id[4:16]}"
            org = OrgRow(id=org_id, slug=slug, name=org_name or ("Personal" if anonymous else slug), created_at=now)
            session.add(org)
        session.flush()
        session.add(MembershipRow(user_id=user.id, org_id=org.id, role="owner"))
        session.add(
            TokenRow(
                id=new_id("tok"),
                user_id=user.id,
                token_hash=hash_token(token),
                name=user_name,
                kind=token_kind,
                created_at=now,
            )
        )
    return Identity(user=user, org=org, token=token)


def user_and_orgs(db: Database, user_id: str, org_ids: Iterable[str]) -> tuple[UserRow | None, list[OrgRow]]:
    """The user and those of `org_ids` that exist, oldest org first."""
    with db.read() as session:
        user = session.get(UserRow, user_id)
        orgs = list(
            session.execute(select(OrgRow).where(OrgRow.id.in_(list(org_ids))).order_by(OrgRow.created_at)).scalars()
        )
    return user, orgs


ANONYMOUS_OFF_MESSAGE = (
    "Anonymous sign-up is off on this server because it listens on {host}, not only on loopback. "
    "Ask its operator for a token (`arkor server token create --name YOU --org TEAM`) and sign in with "
    "`arkor login --token <token> --url <this server>`, or, if anyone who can reach the server may have a "
    "token, start it with ARKOR_ALLOW_ANONYMOUS=1."
)


def is_loopback_host(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1); a wildcard or a LAN address is not."""
    name = host.strip().strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def anonymous_signup_allowed(allow_anonymous: bool | None, bind_host: str) -> bool:
    """Whether `POST /v1/auth/anonymous` mints tokens: the setting when given, else only on loopback.

    The embedded per-user backend (loopback) boots through anonymous sign-up; a team server bound to a
    network address must not hand a token to anyone who asks.
    """
    if allow_anonymous is not None:
        return allow_anonymous
    return is_loopback_host(bind_host)
