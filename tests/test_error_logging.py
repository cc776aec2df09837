"""With DJANGO_DEBUG=0 a server error leaves its traceback on stderr (issue #13), without secrets."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import django
django.setup()
from django.test import Client
from django.test.utils import override_settings
from django.urls import path

def boom(request):
    raise RuntimeError("the view broke")

urlpatterns = [path("boom/", boom)]
with override_settings(ROOT_URLCONF="__main__"):
    response = Client(raise_request_exception=False).get("/boom/?page=2", HTTP_AUTHORIZATION="Bearer sk-live-secret")
print(response.status_code)
"""


def test_a_500_with_debug_off_writes_its_traceback_and_path_to_stderr(tmp_path):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "sora_project.settings", "DJANGO_DEBUG": "0",
           "DJANGO_SECRET_KEY": "test-" + "k" * 50, "DJANGO_ALLOWED_HOSTS": "testserver",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "SORA_VAR_DIR": str(tmp_path),
           "OPENAI_API_KEY": "sk-live-secret"}
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.stdout.strip().splitlines()[-1] == "500", done.stderr[-2000:]
    assert "Internal Server Error: /boom/" in done.stderr
    assert "Traceback (most recent call last)" in done.stderr and "RuntimeError: the view broke" in done.stderr
    assert "sk-live-secret" not in done.stderr
