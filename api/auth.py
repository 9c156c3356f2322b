"""Who a bearer token speaks for. Shared by the REST API and the OpenAI-compatible one."""

from api.models import AccessToken, Scope
from api.services import TOKEN_PREFIX, key_hash, token_record_use
from moderation.selectors import suspension_active


def token_authenticate(raw: str, *, ip: str | None = None) -> AccessToken | None:
    """The active token whose secret is ``raw``, or None.

    The lookup is by the secret's SHA-256, so no comparison of secrets leaks timing.
    None also when the token was revoked, its user is inactive or suspended, or it acts
    for a team its user has since left. With ``ip``, the use is recorded.
    """
    if not raw or not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = (
        AccessToken.objects.select_related("user", "team")
        .filter(key_hash=key_hash(raw), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    if suspension_active(user=token.user) is not None:
        return None
    team = token.team
    if team is not None and not team.memberships.filter(user=token.user).exists():
        return None
    if ip is not None:
        token_record_use(token=token, ip=ip)
    return token


def token_has_scope(token: AccessToken, scope: str) -> bool:
    if scope not in Scope.values:
        raise ValueError(f"Unknown scope {scope!r}")
    return scope in token.scopes
