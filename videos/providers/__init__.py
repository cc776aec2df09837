"""Providers: any base URL that speaks the Videos API, one backend class per dialect."""
from __future__ import annotations

from .. import conf
from .base import ListPage, Provider, ReferenceUpload, RemoteVideo, normalize_status
from .dialects import DIALECT_CLASSES


def get_provider(name: str | None = None) -> Provider:
    """The backend for a configured provider (the default one when ``name`` is None)."""
    config = conf.provider(name)
    return DIALECT_CLASSES[config.dialect](config)


__all__ = ["ListPage", "Provider", "ReferenceUpload", "RemoteVideo", "get_provider", "normalize_status"]
