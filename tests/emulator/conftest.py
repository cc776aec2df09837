"""Fixtures for the emulator's own tests: one emulator process per configuration, reset per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest

from videos.emulator.testing import EmulatorProcess

HERE = Path(__file__).resolve().parent
#: The default emulator of these tests; slow enough that polling sees every status.
GENERATION_TIME = 0.5


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The SDK marks every videos.* method deprecated; that is expected here."""
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.filterwarnings("ignore:The Sora API:DeprecationWarning"))


class EmulatorPool:
    """Starts each distinct configuration once per session."""

    def __init__(self) -> None:
        self._running: dict[str, EmulatorProcess] = {}

    def get(self, **options: Any) -> EmulatorProcess:
        options.setdefault("generation_time", GENERATION_TIME)
        key = repr(sorted(options.items()))
        if key not in self._running:
            self._running[key] = EmulatorProcess(**options).start()
        emulator = self._running[key]
        emulator.reset()
        return emulator

    def stop(self) -> None:
        for emulator in self._running.values():
            emulator.stop()


@pytest.fixture(scope="session")
def emulator_pool() -> Iterator[EmulatorPool]:
    pool = EmulatorPool()
    yield pool
    pool.stop()


@pytest.fixture
def emulator(emulator_pool: EmulatorPool) -> EmulatorProcess:
    """The openai-dialect emulator, reset for this test."""
    return emulator_pool.get()


@pytest.fixture
def sdk(emulator: EmulatorProcess) -> openai.OpenAI:
    """The real openai SDK pointed at ``emulator`` (no retries)."""
    return emulator.client()
