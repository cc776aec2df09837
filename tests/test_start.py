"""``manage.py sora_start`` (what ``bin/start`` runs): on a fresh var directory it migrates,
creates the roles, the demo superuser and a demo member of "Video makers", prints both
logins, records the emulator's URL for later commands, and serves the site."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_start_prints_both_logins_and_remembers_the_emulator(tmp_path: Path) -> None:
    site_port, emu_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SORA_", "DATABASE_"))}
    env.update(SORA_VAR_DIR=str(tmp_path / "var"), SORA_EMULATOR_URL=f"http://127.0.0.1:{emu_port}/v1",
               DJANGO_SETTINGS_MODULE="sora_project.settings", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "manage.py", "sora_start", "--port", str(site_port),
                             "--generation-time", "1"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    out: list[str] = []
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and not any("Stop:" in line for line in out):
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if not line and proc.poll() is not None:
                break
            out.append(line)
        text = "".join(out)
        assert "Stop:" in text, text
        admin_line = next(line for line in out if "Admin:" in line)
        member_line = next(line for line in out if "Member:" in line)
        member_login = (tmp_path / "var" / "demo-member.txt").read_text().strip()
        assert member_login.startswith("member / ") and member_login in member_line
        assert "(superuser)" in admin_line and "'Video makers'" in member_line
        assert (tmp_path / "var" / "emulator-url").read_text().strip() == f"http://127.0.0.1:{emu_port}/v1"
        page = _get(f"http://127.0.0.1:{site_port}/sign-in/", attempts=1)  # the banner waits for the site
        assert "Sign in" in page
        # a later command in another shell (no SORA_EMULATOR_URL) finds the emulator bin/start started
        later = {k: v for k, v in env.items() if k != "SORA_EMULATOR_URL"}
        shown = subprocess.run([sys.executable, "manage.py", "sora", "list-models"], cwd=REPO, env=later,
                               capture_output=True, text=True, timeout=60)
        assert f"127.0.0.1:{emu_port}" in shown.stdout, shown.stdout + shown.stderr
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _get(url: str, attempts: int = 50) -> Any:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} never answered")
