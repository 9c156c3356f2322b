import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from api.models import AccessToken, Scope
from moderation.services import audit_record
from teams.models import Team

TOKEN_PREFIX = "atl_"
# What lists show of a token: "atl_" and four characters of the secret.
SHOWN_CHARS = len(TOKEN_PREFIX) + 4
# Writing last_used_* on every request would make each API call a write; once a minute
# (or when the address changes) is enough to tell when and from where a token was used.
USE_RECORD_INTERVAL = dt.timedelta(minutes=1)


class TokenError(ValueError):
    """A token that cannot be made as asked; the message is for the user."""


def key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _clean_scopes(scopes: Iterable[str]) -> list[str]:
    chosen = set(scopes)
    unknown = chosen - set(Scope.values)
    if unknown:
        raise TokenError(f"Unknown scope: {', '.join(sorted(unknown))}.")
    if not chosen:
        raise TokenError("Choose at least one scope.")
    # Kept in the catalogue's order so lists read the same for every token.
    return [value for value in Scope.values if value in chosen]


def token_create(
    *, user, name: str, scopes: Iterable[str], team: Team | None = None
) -> tuple[AccessToken, str]:
    """Makes a token and returns it with its secret, which is not kept and cannot be
    shown again."""
    name = name.strip()
    if not name:
        raise TokenError("Give the token a name.")
    clean = _clean_scopes(scopes)
    if team is not None and not team.memberships.filter(user=user).exists():
        raise TokenError("You are not a member of that team.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AccessToken.objects.create(
        user=user,
        team=team,
        name=name[:100],
        scopes=clean,
        key_hash=key_hash(raw),
        prefix=raw[:SHOWN_CHARS],
    )
    return token, raw


def token_revoke(*, token: AccessToken, by, reason: str = "") -> bool:
    """Revokes the token; False when it was revoked already. A revoke by someone other
    than the token's owner (staff) is written to the audit log."""
    with transaction.atomic():
        done = AccessToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=by
        )
        if done and by is not None and by.pk != token.user_id:
            audit_record(
                actor=by,
                action="token_revoke",
                target=token,
                reason=reason,
                detail={"user_id": token.user_id, "prefix": token.prefix},
            )
    token.refresh_from_db(fields=["revoked_at", "revoked_by"])
    return bool(done)


def token_record_use(*, token: AccessToken, ip: str | None) -> bool:
    """Records when and from where the token was used, at most once a minute per address.
    Returns whether a row was written."""
    now = timezone.now()
    due = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - USE_RECORD_INTERVAL)
    if ip:
        # The negated lookup matches a NULL address too.
        due |= ~Q(last_used_ip=ip)
    done = (
        AccessToken.objects.filter(pk=token.pk)
        .filter(due)
        .update(last_used_at=now, last_used_ip=ip or None)
    )
    if done:
        token.last_used_at, token.last_used_ip = now, ip or None
    return bool(done)
