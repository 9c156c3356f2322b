"""Team libraries."""

from django.http import HttpRequest
from ninja import Query, Router

from api import schemas
from api.access import caller
from api.models import Scope
from api.present import page_out, team_out
from api.routes.images import ImageFilters, image_query
from gallery import selectors
from teams.models import Membership
from teams.selectors import team_get

router = Router(tags=["teams"])
REFUSALS = {400: schemas.Error, 403: schemas.Error, 404: schemas.Error, 429: schemas.Error}


@router.get("", response={200: list[schemas.Team], **REFUSALS})
def team_list(request: HttpRequest):
    """Your teams and your role in each (a team-bound token: its team)."""
    who = caller(request)
    who.require(Scope.READ)
    memberships = Membership.objects.filter(user=who.user).select_related("team")
    if who.team is not None:
        memberships = memberships.filter(team=who.team)
    return [team_out(m) for m in memberships.order_by("team__name", "team_id")]


@router.get("/{team_id}/images", response={200: schemas.ImagePage, **REFUSALS})
def team_library(request: HttpRequest, team_id: schemas.Id, filters: Query[ImageFilters]):
    """A team's library, searched and filtered as in the gallery."""
    who = caller(request)
    who.require(Scope.READ)
    team = team_get(user=who.user, team_id=team_id)
    who.may_use_team(team)
    query = image_query(who, filters)
    return page_out(selectors.image_search(user=who.user, query=query, team=team))
