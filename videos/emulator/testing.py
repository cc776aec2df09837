"""Run the emulator as a subprocess from tests and benchmarks.

    with EmulatorProcess(dialect="openai", generation_time=0.3) as emulator:
        client = emulator.client()
        video = client.videos.create(prompt="a cat")

Control calls use urllib only, so this module needs nothing beyond the standard
library (``openai`` is imported lazily by :meth:`EmulatorProcess.client`).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import openai

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0
_LISTENING = re.compile(r"listening on (http://[^/\s]+)(/\S*)\s*$")


class EmulatorError(RuntimeError):
    """The emulator did not start, or a control call failed."""


class EmulatorProcess:
    """An emulator subprocess on a free port of 127.0.0.1."""

    def __init__(
        self,
        *,
        dialect: str = "openai",
        generation_time: float = 0.3,
        asset_ttl: float = 3600,
        api_keys: Iterable[str] = ("sk-emulator",),
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        fps: int = 4,
        extra_args: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.api_keys = tuple(api_keys)
        if not self.api_keys:
            raise ValueError("at least one API key is needed")
        args = [
            "--port",
            "0",
            "--dialect",
            dialect,
            "--generation-time",
            str(generation_time),
            "--asset-ttl",
            str(asset_ttl),
            "--fps",
            str(fps),
            "--quiet",
        ]
        for key in self.api_keys:
            args += ["--api-key", key]
        if webhook_url:
            args += ["--webhook-url", webhook_url]
        if webhook_secret:
            args += ["--webhook-secret", webhook_secret]
        self.args = [*args, *extra_args]
        self.dialect = dialect
        self.env = dict(env or {})
        self.url = ""
        self.base_url = ""
        self._process: subprocess.Popen[str] | None = None
        self._stderr: Any = None

    @property
    def api_key(self) -> str:
        return self.api_keys[0]

    def start(self) -> EmulatorProcess:
        """Launch ``python -m videos.emulator`` and wait for its "listening" line."""
        if self._process is not None:
            raise EmulatorError("already started")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        # stderr goes to a file: a pipe nobody reads would eventually block the server.
        self._stderr = tempfile.TemporaryFile(mode="w+", prefix="sora-emulator-stderr-")
        self._process = subprocess.Popen(
            [sys.executable, "-m", "videos.emulator", *self.args],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        line = self._first_line(self._process)
        match = _LISTENING.search(line or "")
        if match is None:
            self.stop()
            raise EmulatorError(f"emulator did not start (first line {line!r}); stderr:\n{self.stderr()}")
        self.url = match.group(1)
        self.base_url = self.url + match.group(2)
        return self

    def client(self, **kwargs: Any) -> openai.OpenAI:
        """An ``openai.OpenAI`` client for this emulator; no retries unless asked."""
        import openai

        kwargs.setdefault("max_retries", 0)
        kwargs.setdefault("api_key", self.api_key)
        return openai.OpenAI(base_url=self.base_url, **kwargs)

    def reset(self) -> None:
        self._control("POST", "/_emulator/reset")

    def set_faults(self, rules: list[dict[str, Any]]) -> None:
        self._control("POST", "/_emulator/faults", rules)

    def clear_faults(self) -> None:
        self._control("DELETE", "/_emulator/faults")

    def faults(self) -> list[dict[str, Any]]:
        return self._control("GET", "/_emulator/faults")

    def stats(self) -> dict[str, Any]:
        return self._control("GET", "/_emulator/stats")

    def jobs(self) -> list[dict[str, Any]]:
        return self._control("GET", "/_emulator/jobs")

    def job(self, video_id: str) -> dict[str, Any]:
        """The internal view of one job (see :meth:`jobs`)."""
        for job in self.jobs():
            if job["id"] == video_id:
                return job
        raise EmulatorError(f"no job {video_id!r}")

    def complete(self, video_id: str) -> dict[str, Any]:
        """Finish ``video_id`` now (completed, or failed if it was going to) and return its view."""
        return self._control("POST", f"/_emulator/jobs/{video_id}/complete")

    def expire(self, video_id: str) -> dict[str, Any]:
        """Expire the content of a completed ``video_id`` now."""
        return self._control("POST", f"/_emulator/jobs/{video_id}/expire")

    def restart(self) -> int:
        """Forget every job, as a server that keeps them in memory does on restart; how many."""
        return self._control("POST", "/_emulator/restart")["forgotten"]

    def webhooks(self) -> list[dict[str, Any]]:
        return self._control("GET", "/_emulator/webhooks")

    def stderr(self) -> str:
        """What the emulator wrote to stderr so far (tracebacks, access log unless quiet)."""
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read()

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 10 s; safe to call twice."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> EmulatorProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _control(self, method: str, path: str, payload: Any = None) -> Any:
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=90) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            exc.close()
            raise EmulatorError(f"{method} {path} -> {exc.code}: {detail}") from None

    @staticmethod
    def _first_line(process: subprocess.Popen[str]) -> str | None:
        """Read stdout's first line with a timeout (readline alone could block forever)."""
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(START_TIMEOUT)
        return lines[0] if lines else None
