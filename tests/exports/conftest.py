import pytest


@pytest.fixture(autouse=True)
def exports_built_by_hand(settings, tmp_path):
    """Tests build exports themselves (`exports_run_pending`), in the test's transaction; files go to
    a temporary media root."""
    settings.EXPORT_BUILD_IN_THREAD = False
    settings.MEDIA_ROOT = str(tmp_path)
