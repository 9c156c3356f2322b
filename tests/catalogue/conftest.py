import pytest

from jobs.registry import catalogue_changed
from tests.factories import UserFactory


@pytest.fixture
def catalogue(db):
    """The shipped catalogue in the database (a transactional test before may have flushed
    it), and no process-local copy carried from one test into the next."""
    from catalogue.services import catalogue_load

    catalogue_changed()
    catalogue_load()
    catalogue_changed()
    yield
    catalogue_changed()


@pytest.fixture
def root(db):
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, root):
    client.force_login(root)
    return client
