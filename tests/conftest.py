"""Shared fixtures: an emulator per dialect, settings pointing at it.

The full run starts a real emulator process per configuration and talks HTTP to it. The
fast tier (``bin/test --fast``, ``SORA_TEST_TIER=fast``) runs the tests that do not test
HTTP itself against the same emulator in process (:mod:`tests.inprocess`) and leaves out
those marked ``slow`` (processes, browsers, the LiteLLM proxy, the emulator's wire tests).
"""
from __future__ import annotations

import os
import shutil
import socket
from typing import Any, Iterator

import pytest

from videos.emulator.testing import EmulatorProcess

from .inprocess import InProcessEmulator
from .profile_checks import empty_queue  # noqa: F401  (autouse: every test starts with an empty queue)
from .support import sora_settings

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
FAST = os.environ.get("SORA_TEST_TIER") == "fast"

#: Tests that start processes, browsers or proxies, or test the emulator's HTTP itself:
#: the full run only.
SLOW_PATHS = (
    "tests/emulator/", "tests/litellm/", "tests/faults/", "tests/test_install.py", "tests/test_error_logging.py",
    "tests/cli/test_subprocess.py", "tests/lifecycle/test_workers.py", "tests/lifecycle/test_budget_race.py",
    "tests/test_start.py", "tests/lifecycle/test_approval_race.py", "tests/lifecycle/races.py",
    "tests/lifecycle/test_idempotency_race.py", "tests/lifecycle/test_lease_race.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path.startswith(SLOW_PATHS) or "browser" in item.keywords or "live_server" in item.fixturenames:
            item.add_marker(pytest.mark.slow)


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
            kind = InProcessEmulator if FAST else EmulatorProcess
            emu = kind(dialect=dialect, **options).start()
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


class BackgroundWorker:
    """Runs the queue and the sweeps in a thread, like a qcluster would, until stopped.

    For tests that watch jobs progress (browser tests); errors surface at ``stop()``.
    """

    def __init__(self, interval: float = 0.1) -> None:
        import threading

        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sora-test-worker", daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        from django.db import connection

        from videos import conf
        from videos.pipeline import sweep_once
        from videos.providers import get_provider

        from .support import drain

        try:
            while not self._stop.is_set():
                drain()
                for name in conf.providers():
                    sweep_once(get_provider(name))
                drain()
                self._stop.wait(self.interval)
        except BaseException as exc:  # reported by stop()
            self.error = exc
        finally:
            connection.close()

    def start(self) -> "BackgroundWorker":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        if self.error is not None:
            raise self.error


@pytest.fixture
def worker(sora: EmulatorProcess, transactional_db: Any) -> Iterator[BackgroundWorker]:
    """A background worker for the test (needs a transactional database)."""
    bg = BackgroundWorker().start()
    yield bg
    bg.stop()


@pytest.fixture
def broker_down(monkeypatch: Any) -> None:
    """django-q2 pointed at a Redis port nobody listens on (its settings are read at import)."""
    from django_q.conf import Conf

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again when the block ends: connections are refused
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setattr(Conf, "DJANGO_REDIS", None)


def chromium_path() -> str:
    """Debian's chromium, or a skip (a failure under REQUIRE_SERVICES=1)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        require("Chromium", "`chromium` is not installed (apt-get install chromium)")
    return path


CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A Playwright Chromium browser (Debian's binary, never a downloaded one)."""
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
    # around it are still synchronous and safe.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=path, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def artifacts_dir() -> Any:
    """Where browser tests save screenshots (tests/artifacts, ignored by git)."""
    from pathlib import Path

    path = Path(__file__).resolve().parent / "artifacts"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Each test starts with an empty Django cache (throttles such as the live-refresh nudge
    live there, and must not leak from one test into another's query counts)."""
    from django.core.cache import cache

    cache.clear()
    yield
