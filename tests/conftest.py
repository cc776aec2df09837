"""Shared fixtures: a real emulator process per dialect, settings pointing at it."""
from __future__ import annotations

import os
import shutil
import socket
from typing import Any, Iterator

import pytest

from videos.emulator.testing import EmulatorProcess

from .support import sora_settings

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def require(what: str, reason: str) -> None:
    """Skip with a visible reason, or fail when CI says every service must be there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but {reason}")
    pytest.skip(f"{what} not available: {reason}")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class EmulatorPool:
    """One emulator process per configuration for the whole session."""

    def __init__(self) -> None:
        self._running: dict[tuple, EmulatorProcess] = {}

    def get(self, dialect: str = "openai", **options: Any) -> EmulatorProcess:
        key = (dialect, tuple(sorted((k, repr(v)) for k, v in options.items())))
        emu = self._running.get(key)
        if emu is None:
            options.setdefault("generation_time", 0.3)
            emu = EmulatorProcess(dialect=dialect, **options).start()
            emu.dialect = dialect  # type: ignore[attr-defined]
            self._running[key] = emu
        emu.reset()
        return emu

    def stop(self) -> None:
        for emu in self._running.values():
            emu.stop()


@pytest.fixture(scope="session")
def emulators() -> Iterator[EmulatorPool]:
    pool = EmulatorPool()
    yield pool
    pool.stop()


@pytest.fixture
def emu(emulators: EmulatorPool) -> EmulatorProcess:
    """The default (openai dialect) emulator, reset for this test."""
    return emulators.get()


@pytest.fixture
def sora(settings: Any, emu: EmulatorProcess, tmp_path: Any) -> EmulatorProcess:
    """Settings for one provider ``emu`` at the emulator, media in a temp dir."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(emu)
    return emu


@pytest.fixture
def postgres_url() -> str:
    if shutil.which("psql") is None and not port_open("127.0.0.1", 5432):
        require("PostgreSQL", "no server on 127.0.0.1:5432")
    if not port_open("127.0.0.1", 5432):
        require("PostgreSQL", "no server on 127.0.0.1:5432")
    return os.environ.get("SORA_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")


@pytest.fixture
def redis_url() -> str:
    if not port_open("127.0.0.1", 6379):
        require("Redis", "no server on 127.0.0.1:6379")
    return os.environ.get("SORA_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
