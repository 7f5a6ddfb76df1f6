import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed(): ...`` runs the block's on-commit callbacks (task enqueues, e-mail)
    when it ends, as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
