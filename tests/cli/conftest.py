from __future__ import annotations

from typing import Any

import pytest

from .helpers import site_settings


@pytest.fixture
def site(settings: Any, sora: Any) -> Any:
    """Like ``sora``, with the provider named ``default`` as the site's settings (and subprocesses) name it."""
    settings.SORA_VIDEOS = site_settings(sora)
    return sora
