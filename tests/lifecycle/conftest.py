"""Fixtures of the lifecycle tests."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from ..conftest import require

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_database(postgres_url):
    """A fresh PostgreSQL database, migrated by a subprocess, dropped afterwards."""
    name = f"sora_race_{uuid.uuid4().hex[:8]}"
    admin_url = postgres_url
    try:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        require("PostgreSQL", f"cannot connect to {admin_url}: {exc}")
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    yield url
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
