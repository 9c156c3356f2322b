"""Who an API request speaks for, and what it may touch.

A request authenticates with a bearer token or, from the browser, a session. A session
acts with every scope and no team; a token with its own scopes, and a team-bound token
for its team only: that team's library and collections, and the jobs made through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest
from ninja.errors import HttpError

from api.auth import token_has_scope
from api.models import AccessToken, JobOrigin, Scope
from gallery import selectors as gallery
from gallery.models import Collection, Image
from jobs import selectors as jobs
from jobs.models import GenerationJob
from teams.models import Team

SCOPE_NEEDED = {
    Scope.READ: "This token cannot read: it lacks the “read” scope.",
    Scope.GENERATE: "This token cannot create or change jobs: it lacks the “generate” scope.",
    Scope.LIBRARY: "This token cannot change the library: it lacks the “library” scope.",
}


@dataclass(frozen=True)
class Caller:
    user: Any
    token: AccessToken | None = None

    @property
    def team(self) -> Team | None:
        return self.token.team if self.token is not None else None

    def require(self, scope: str) -> None:
        if self.token is not None and not token_has_scope(self.token, scope):
            raise HttpError(403, SCOPE_NEEDED[Scope(scope)])

    # -- jobs -------------------------------------------------------------------------

    def jobs(self) -> QuerySet[GenerationJob]:
        """The caller's jobs (a team-bound token: those made through the team's tokens)."""
        mine = GenerationJob.objects.filter(owner=self.user)
        if self.team is not None:
            mine = mine.filter(api_origin__team=self.team)
        return mine

    def job(self, job_id) -> GenerationJob:
        job = jobs.job_get(user=self.user, job_id=job_id)
        if self.team is not None and not self.jobs().filter(id=job.id).exists():
            raise Http404("No such job.")
        return job

    def job_made(self, job: GenerationJob) -> GenerationJob:
        """Records which token made a job, so a team-bound token sees its own jobs."""
        if self.token is not None:
            JobOrigin.objects.create(job=job, token=self.token, team=self.team)
        return job

    # -- images -----------------------------------------------------------------------

    def images(self) -> QuerySet[Image]:
        visible = gallery.image_visible(user=self.user)
        if self.team is not None:
            made_here = Q(owner=self.user, job__api_origin__team=self.team)
            visible = visible.filter(Q(team=self.team) | made_here)
        return visible

    def image(self, image_id: int) -> Image:
        image = gallery.image_get(user=self.user, image_id=image_id)
        if self.team is not None and not self.images().filter(id=image.id).exists():
            raise Http404("No such image.")
        return image

    # -- collections and teams --------------------------------------------------------

    def collection(self, collection_id: int) -> Collection:
        collection = gallery.collection_get(user=self.user, collection_id=collection_id)
        if self.team is not None and collection.team_id != self.team.id:
            raise Http404("No such collection.")
        return collection

    def collections(self) -> QuerySet[Collection]:
        visible = gallery.collection_visible(user=self.user)
        if self.team is not None:
            visible = visible.filter(team=self.team)
        return visible

    def may_use_team(self, team: Team) -> None:
        if self.team is not None and team.id != self.team.id:
            raise Http404("No such team.")


def caller(request: HttpRequest) -> Caller:
    """Set by the API's authentication: a token, or the session's user."""
    auth = request.auth  # type: ignore[attr-defined]
    if isinstance(auth, AccessToken):
        return Caller(user=auth.user, token=auth)
    return Caller(user=auth)
