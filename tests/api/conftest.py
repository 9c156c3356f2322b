import pytest
from django.test import Client

from api.services import token_create
from teams.models import Membership, Team
from tests.factories import UserFactory


class TokenClient(Client):
    """A test client that sends one bearer token with every request."""

    def __init__(self, raw: str, **kwargs):
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {raw}", **kwargs)
        self.raw = raw


def token_client(user, scopes=("read", "generate", "library"), team=None) -> TokenClient:
    _, raw = token_create(user=user, name="test", scopes=list(scopes), team=team)
    return TokenClient(raw)


@pytest.fixture
def alice_api(alice):
    return token_client(alice)


@pytest.fixture
def alice_reader(alice):
    return token_client(alice, scopes=["read"])


@pytest.fixture
def charlie_api(charlie):
    return token_client(charlie)


@pytest.fixture
def staff(db):
    return UserFactory(username="mod", is_staff=True)


@pytest.fixture
def team(alice, bob):
    team = Team.objects.create(name="Studio")
    Membership.objects.create(team=team, user=alice, role=Membership.Role.OWNER)
    Membership.objects.create(team=team, user=bob, role=Membership.Role.EDITOR)
    return team
