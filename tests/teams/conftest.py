from tests.gallery.conftest import team  # noqa: F401
