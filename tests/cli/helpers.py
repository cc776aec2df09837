"""Running ``manage.py sora`` in-process (call_command) and as a real subprocess."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
# what the production profile sets for the storage and the queue (tests/profiles.py): subprocesses share them
SHARED_ENV = ("SORA_S3_", "SORA_REDIS_URL", "SORA_Q_NAME", "SORA_SIGNED_URL_EXPIRY")


@dataclass
class Result:
    code: int
    out: str
    err: str


def sora(*args: Any) -> Result:
    """``call_command("sora", *args)``: exit code, stdout and stderr as a user would see them."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("sora", *[str(a) for a in args], stdout=out, stderr=err)
    except CommandError as exc:
        err.write(f"CommandError: {exc}\n")
        return Result(exc.returncode, out.getvalue(), err.getvalue())
    return Result(0, out.getvalue(), err.getvalue())


def sora_process(emu: Any, *args: Any, cwd: Path | None = None, emulator_mode: bool = False,
                 timeout: float = 120) -> Result:
    """``python manage.py sora ...`` in a subprocess, on the test database, storage and queue.

    The site's settings build provider ``default`` from the environment: ``OPENAI_BASE_URL``
    and ``OPENAI_API_KEY`` (as for a real server), or ``SORA_EMULATOR_URL`` alone
    (``emulator_mode``: the provider is marked as the local emulator). Under the production
    profile it gets the test's PostgreSQL database, the S3 bucket and the Redis queue.
    """
    from tests.lifecycle.test_workers import test_database_url

    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("OPENAI_", "SORA_", "DJANGO_")) or k.startswith(SHARED_ENV)}
    env.update({
        "DJANGO_SETTINGS_MODULE": "sora_project.settings",
        "DATABASE_URL": test_database_url(),
        "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
    })
    temp_dir = settings.SORA_VIDEOS.get("TEMP_DIR")
    if temp_dir:  # downloads in flight stay in this test process's folder (production profile)
        env["SORA_VIDEOS_JSON"] = json.dumps({"TEMP_DIR": str(temp_dir)})
    if emulator_mode:
        env["SORA_EMULATOR_URL"] = emu.base_url
    else:
        env["OPENAI_BASE_URL"] = emu.base_url
        env["OPENAI_API_KEY"] = emu.api_key
    proc = subprocess.run(
        [sys.executable, str(REPO / "manage.py"), "sora", *[str(a) for a in args]],
        cwd=cwd or REPO, env=env, capture_output=True, text=True, timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def site_settings(emu: Any) -> dict[str, Any]:
    """SORA_VIDEOS as the subprocess builds it (provider ``default``), with fast test timings."""
    from tests.support import sora_settings

    config = sora_settings(emu)
    config["PROVIDERS"] = {"default": config["PROVIDERS"]["emu"]}
    return config


def make_image(path: Path, color: tuple[int, int, int] = (200, 80, 40), size: tuple[int, int] = (1280, 720)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


def no_api_calls(emu: Any) -> bool:
    stats = emu.stats()
    return stats["jobs_created"] == 0 and not any(stats["requests"].values())
