""" "Check models": what a connection's provider really serves, from its GET /v1/models."""

from __future__ import annotations

from dataclasses import dataclass, field

import openai
from django.conf import settings
from django.utils.translation import gettext as _

from catalogue.models import PairingReview
from catalogue.services import pairing_flag
from jobs.connections import Connection, connection_named
from jobs.registry import MODELS, Family

# Families whose providers answer GET /v1/models (a Midjourney proxy has no such list).
_LISTING_FAMILIES = frozenset({Family.OPENAI_IMAGES, Family.CHAT_COMPLETIONS})


@dataclass
class ModelsCheck:
    connection: str
    # Models the connection claims and the provider lists.
    served: list[str] = field(default_factory=list)
    # Models the connection claims that the provider does not list.
    missing: list[str] = field(default_factory=list)
    # Catalogue models of the connection's family the provider lists but it does not claim.
    also_listed: list[str] = field(default_factory=list)
    # Names the provider lists that the catalogue does not know: "add from template".
    unknown: list[str] = field(default_factory=list)
    error: str = ""


def _listed_names(connection: Connection) -> list[str]:
    timeout = settings.ATELIER_PROVIDER_TIMEOUT
    client = openai.OpenAI(
        base_url=connection.base_url,
        api_key=connection.api_key or "none",
        max_retries=0,
        timeout=openai.Timeout(timeout, connect=min(10.0, timeout)),
    )
    return [item.id for item in client.models.list()]


def models_check(*, connection_name: str, flag_missing: bool = True) -> ModelsCheck:
    """Compare what ``connection_name`` claims with what its provider lists; a claimed
    model the provider lacks is marked for staff to review."""
    report = ModelsCheck(connection=connection_name)
    connection = connection_named(connection_name)
    if connection is None:
        report.error = _("No connection is named %(name)s.") % {"name": connection_name}
        return report
    if connection.family not in _LISTING_FAMILIES:
        report.error = _("The %(family)s family has no list of models to check.") % {
            "family": connection.family.value
        }
        return report
    try:
        listed = set(_listed_names(connection))
    except openai.APIStatusError as exc:
        report.error = _("The provider answered %(status)s to GET /models.") % {
            "status": exc.status_code
        }
        return report
    except openai.APIError as exc:
        report.error = _("The provider could not be asked: %(error)s") % {"error": exc}
        return report
    claimed = set(connection.models)
    family_models = {name for name, spec in MODELS.items() if spec.family is connection.family}
    report.served = sorted(claimed & listed)
    report.missing = sorted(claimed - listed)
    report.also_listed = sorted((listed & family_models) - claimed)
    report.unknown = sorted(listed - set(MODELS))
    if flag_missing:
        for name in report.missing:
            pairing_flag(
                connection=connection.name,
                model=name,
                reason=PairingReview.Reason.MISSING,
                detail="Not listed by GET /models.",
            )
    return report
