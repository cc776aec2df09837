"""Races run for real: a script in a subprocess of the ready-to-run site (its own database
connections, one per thread), every thread released at the same moment by a barrier."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..support import sora_settings

ROOT = Path(__file__).resolve().parents[2]

#: Put first in a race script: ``at_once(act, items)`` runs ``act(item)`` for every item in a
#: thread of its own, all released together, and returns the outcomes sorted.
AT_ONCE = '''
import django, json, threading
django.setup()
from django.db import connection


def at_once(act, items):
    start = threading.Barrier(len(items))
    outcome = []

    def run(item):
        start.wait()
        try:
            outcome.append(act(item))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcome)
'''


def run_race(script: str, database_url: str, emu: Any, tmp_path: Path, **options: Any) -> dict[str, Any]:
    """Migrate ``database_url``, run ``AT_ONCE + script`` against it, return the JSON it prints last."""
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "sora_project.settings",
           "SORA_VIDEOS_JSON": json.dumps(sora_settings(emu, **options)),
           "DJANGO_MEDIA_ROOT": str(tmp_path / "media"), "SORA_LOG_LEVEL": "WARNING"}
    env.pop("SORA_REDIS_URL", None)  # the ORM broker: enqueueing is part of the same transaction
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    done = subprocess.run([sys.executable, "-c", AT_ONCE + script], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
