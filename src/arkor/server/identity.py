"""Creating users, orgs and tokens: anonymous sign-up and operator-made team tokens share this."""

from __future__ import annotations

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
            TokenRow(id=new_id("tok"), user_id=user.id, token_hash=hash_token(token), name=user_name, kind=token_kind, created_at=now)
        )
    return Identity(user=user, org=org, token=token)
