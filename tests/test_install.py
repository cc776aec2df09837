"""The app installs into a fresh ``django-admin startproject`` site that already has an app
labelled ``videos`` (``catalog.videos``), exactly as a host team would add it.

Everything runs in subprocesses of the host site: ``makemigrations`` for the host's own
app, ``migrate``, ``check``, admin and gallery pages through Django's test client (signing in
through the app's own page, as the site has none), and a
video made with ``manage.py sora generate --wait`` against the emulator and stored.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

HOST_MODELS = '''
from django.conf import settings
from django.db import models


class VideoJob(models.Model):
    """Same model name and an owner FK without related_name, as a host app might well have."""
    title = models.CharField(max_length=100)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)


class Prompt(models.Model):
    text = models.TextField()
'''

HOST_SETTINGS = '''
INSTALLED_APPS += ["django_q", "taggit", "catalog.videos", "videos"]
Q_CLUSTER = {{"name": "host", "orm": "default", "sync": True}}
SORA_VIDEOS = {{"PROVIDERS": {{"default": {{"BASE_URL": "{base_url}", "API_KEY_ENV": "HOST_SORA_KEY"}}}},
               "POLL_INTERVAL": 0.2}}
MEDIA_ROOT = BASE_DIR / "media"
ALLOWED_HOSTS = ["testserver"]  # Django's test client, in the smoke script
'''

HOST_URLS = '''
from django.urls import include
urlpatterns += [path("studio/", include("videos.urls"))]
'''

SMOKE = '''
from django.contrib.auth.models import Permission, User
from django.test import Client
from catalog.videos.models import VideoJob as HostJob
from videos.models import VideoJob

admin = User.objects.create_superuser("boss", "boss@example.com", "pw")
HostJob.objects.create(title="host row", owner=admin)
client = Client()
client.force_login(admin)
for url in ["/admin/", "/admin/videos/videojob/", "/admin/sora_videos/videojob/",
            "/admin/sora_videos/videojob/add/", "/admin/sora_videos/sequence/", "/studio/"]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
codenames = set(Permission.objects.filter(content_type__app_label="sora_videos").values_list("codename", flat=True))
assert {"view_videojob", "submit_videojob"} <= codenames, codenames
assert VideoJob._meta.db_table == "sora_videos_videojob" and HostJob._meta.db_table == "videos_videojob"
member = User.objects.create_user("member", password="pw")
member.user_permissions.add(Permission.objects.get(content_type__app_label="sora_videos", codename="view_videojob"))
client.force_login(member)
assert client.get("/studio/").status_code == 200
# a fresh startproject site has no /accounts/login/: the app's own sign-in is used
anon = Client()
response = anon.get("/studio/")
assert response.status_code == 302 and response["Location"].startswith("/studio/sign-in/?next="), response
assert anon.get("/studio/sign-in/").status_code == 200
from django.contrib.auth.models import Group
from videos import roles
roles.ensure_roles()
member.groups.add(Group.objects.get(name=roles.MAKERS))
signed = anon.post("/studio/sign-in/", {"username": "member", "password": "pw", "next": "/studio/new/"})
assert signed.status_code == 302 and signed["Location"] == "/studio/new/", signed
assert anon.get("/studio/new/").status_code == 200
print("SMOKE OK", HostJob.objects.count(), VideoJob.objects.count())
'''


def _run(cwd: Path, *args: str, env: dict[str, str], timeout: float = 180) -> str:
    proc = subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout + proc.stderr


def test_installs_beside_a_host_app_labelled_videos(tmp_path: Path, emu: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "SORA_", "DJANGO_", "DATABASE_"))}
    scaffold = {**env, "PYTHONPATH": ""}  # startapp refuses a name it can import (our ``videos``)
    _run(tmp_path, "-m", "django", "startproject", "hostsite", env=scaffold)
    site = tmp_path / "hostsite"
    (site / "catalog" / "videos").mkdir(parents=True)
    (site / "catalog" / "__init__.py").write_text("")
    _run(site, "-m", "django", "startapp", "videos", "catalog/videos", env=scaffold)
    env.update(PYTHONPATH=str(REPO), HOST_SORA_KEY=emu.api_key, PYTHONUNBUFFERED="1")
    apps_py = site / "catalog" / "videos" / "apps.py"
    apps_py.write_text(apps_py.read_text().replace("name = 'videos'", "name = 'catalog.videos'")
                       .replace('name = "videos"', 'name = "catalog.videos"'))
    (site / "catalog" / "videos" / "models.py").write_text(HOST_MODELS)
    (site / "catalog" / "videos" / "admin.py").write_text(
        "from django.contrib import admin\nfrom .models import VideoJob\nadmin.site.register(VideoJob)\n")
    settings_py = site / "hostsite" / "settings.py"
    settings_py.write_text(settings_py.read_text() + textwrap.dedent(HOST_SETTINGS.format(base_url=emu.base_url)))
    urls_py = site / "hostsite" / "urls.py"
    urls_py.write_text(urls_py.read_text() + HOST_URLS)

    _run(site, "manage.py", "makemigrations", "videos", env=env)  # the host's own app, label "videos"
    out = _run(site, "manage.py", "migrate", env=env)
    assert "Applying videos.0001_initial... OK" in out and "Applying sora_videos.0001_initial... OK" in out
    _run(site, "manage.py", "check", "--fail-level", "WARNING", env=env)
    assert "No changes detected" in _run(site, "manage.py", "makemigrations", "--check", "--dry-run", env=env)
    assert "SMOKE OK 1 0" in _run(site, "manage.py", "shell", "-c", SMOKE, env=env)

    made = _run(site, "manage.py", "sora", "generate", "A red ball rolls across a desk", "--wait",
                "-o", str(tmp_path / "out.mp4"), env=env)
    assert (tmp_path / "out.mp4").stat().st_size > 1000, made
    stored = list((site / "media").rglob("*.mp4"))
    assert stored, f"nothing stored under the host's MEDIA_ROOT:\n{made}"

