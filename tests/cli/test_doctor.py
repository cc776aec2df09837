"""``manage.py sora doctor`` and ``/healthz``: every check passes on a working install, and
each broken part fails with what to do (both test profiles: SQLite/ORM/local and
PostgreSQL/Redis/S3)."""
from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.utils import timezone

from videos import health
from videos.models import Lease
from videos.storage import get_storage

from ..profile_checks import missing_bucket
from ..support import sora_settings
from .helpers import sora

pytestmark = pytest.mark.django_db


@pytest.fixture
def worker_seen(db):
    """What a starting cluster worker or its scheduled sweep leaves behind (health.worker_answered)."""
    return Lease.objects.create(name=health.WORKERS_LEASE, holder="host-1:4242",
                                expires_at=timezone.now() + dt.timedelta(seconds=health.WORKERS_SILENT_AFTER - 5))


def lines(result) -> dict[str, str]:
    found = {}
    for line in result.out.splitlines():
        if line.startswith(("PASS", "FAIL")):
            verdict, name = line[:4], line[6:].split("  ")[0].strip()
            found[name] = verdict
    return found


def test_all_pass_on_a_working_install(site, worker_seen):
    result = sora("doctor", "--url", "https://videos.example.com")
    assert result.code == 0, result.out + result.err
    verdicts = lines(result)
    assert set(verdicts) >= {"database", "broker", "storage", "workers", "provider default", "cookies"}
    assert set(verdicts.values()) == {"PASS"}
    assert "wrote, read and deleted a probe object" in result.out
    assert "key accepted" in result.out and "host-1:4242" in result.out
    assert site.api_key not in result.out + result.err  # never a secret
    assert not _probes()  # the probe is gone


def test_no_worker_fails_with_the_command_to_start_one(site):
    result = sora("doctor")
    assert result.code == 1
    assert lines(result)["workers"] == "FAIL"
    assert "python manage.py qcluster" in result.out
    assert "1 check(s) failed: workers." in result.err


def test_a_worker_silent_for_too_long_fails(site, worker_seen):
    Lease.objects.filter(pk=worker_seen.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    result = sora("doctor", "--json")
    checks = {c["name"]: c for c in json.loads(result.out)}
    assert result.code == 1 and not checks["workers"]["ok"]
    assert "host-1:4242" in checks["workers"]["detail"]


def test_a_provider_that_refuses_the_key(settings, emu, worker_seen, monkeypatch):
    settings.SORA_VIDEOS = sora_settings(emu, provider={"API_KEY_ENV": "DOCTOR_TEST_KEY"})
    monkeypatch.setenv("DOCTOR_TEST_KEY", "sk-wrong-key")
    result = sora("doctor", "--json")
    check = {c["name"]: c for c in json.loads(result.out)}["provider emu"]
    assert not check["ok"] and "refused the key (401)" in check["detail"]
    assert "DOCTOR_TEST_KEY" in check["fix"]
    assert "sk-wrong-key" not in result.out


def test_an_unreachable_or_keyless_provider(settings, worker_seen, monkeypatch):
    settings.SORA_VIDEOS = {"PROVIDERS": {
        "gone": {"BASE_URL": "http://127.0.0.1:9/v1", "API_KEY_ENV": "DOCTOR_GONE_KEY"},
        "embedded": {"BASE_URL": "http://127.0.0.1:9/v1", "EMULATOR": True},
    }}
    monkeypatch.delenv("DOCTOR_GONE_KEY", raising=False)
    checks = {c["name"]: c for c in json.loads(sora("doctor", "--json").out)}
    assert not checks["provider gone"]["ok"] and "Set DOCTOR_GONE_KEY" in checks["provider gone"]["fix"]
    assert "cannot be reached" in checks["provider embedded"]["detail"]
    assert "bin/start" in checks["provider embedded"]["fix"]
    monkeypatch.setenv("DOCTOR_GONE_KEY", "sk-test")
    checks = {c["name"]: c for c in json.loads(sora("doctor", "--json").out)}
    assert not checks["provider gone"]["ok"] and "cannot be reached" in checks["provider gone"]["detail"]
    assert "BASE_URL" in checks["provider gone"]["fix"]


def test_webhooks_in_use_or_not_and_the_url_to_give_the_provider(settings, emu, worker_seen, monkeypatch):
    settings.SORA_VIDEOS = sora_settings(emu, provider={"WEBHOOK_SECRET_ENV": "DOCTOR_WEBHOOK_SECRET"})
    monkeypatch.delenv("DOCTOR_WEBHOOK_SECRET", raising=False)
    result = sora("doctor", "--url", "https://videos.example.com", "--json")
    check = {c["name"]: c for c in json.loads(result.out)}["webhooks emu"]
    assert check["ok"] and "not in use: DOCTOR_WEBHOOK_SECRET is not set" in check["detail"]
    monkeypatch.setenv("DOCTOR_WEBHOOK_SECRET", "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=")
    result = sora("doctor", "--url", "https://videos.example.com", "--json")
    check = {c["name"]: c for c in json.loads(result.out)}["webhooks emu"]
    assert check["ok"] and "https://videos.example.com/webhooks/emu/" in check["detail"]
    assert "whsec_" not in result.out


def test_secure_cookies_over_plain_http_fail_with_the_setting_to_change(site, settings, worker_seen):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    result = sora("doctor", "--url", "http://10.0.0.5:8000")
    assert result.code == 1 and lines(result)["cookies"] == "FAIL"
    assert "CSRF 403" in result.out and "DJANGO_SECURE_COOKIES=0" in result.out
    assert sora("doctor", "--url", "https://videos.example.com").code == 0


def test_a_bad_url_is_refused_before_any_check(site):
    result = sora("doctor", "--url", "videos.example.com")
    assert result.code == 2 and "is not an http(s) address" in result.err and not result.out


def test_a_missing_bucket_is_named(site, settings, worker_seen):
    """NoSuchBucket with the bucket and endpoint, from doctor (write probe) and /healthz (HeadBucket)."""
    with missing_bucket(settings) as bucket:
        result = sora("doctor")
        assert result.code == 1 and lines(result)["storage"] == "FAIL"
        assert "NoSuchBucket" in result.out and f"bucket {bucket!r}" in result.out
        assert "aws s3 mb" in result.out
        assert health.storage_check(write=False).detail.startswith("cannot use it: NoSuchBucket")


def test_an_unwritable_folder_is_named(site, settings, tmp_path, worker_seen):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder should be")
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(blocker / "media")}}}
    result = sora("doctor")
    assert result.code == 1 and lines(result)["storage"] == "FAIL"
    assert str(blocker) in result.out


def test_check_deploy_fails_without_the_broker_or_the_bucket(site, settings, broker_down):
    with missing_bucket(settings) as bucket, pytest.raises(SystemCheckError) as caught:
        call_command("check", "--deploy", stdout=io.StringIO(), stderr=io.StringIO())
    text = str(caught.value)
    assert "sora_videos.E004" in text and "broker:" in text and "cannot be reached" in text
    assert "sora_videos.E005" in text and "NoSuchBucket" in text and bucket in text


def test_check_deploy_passes_our_checks_on_a_working_install(site):
    out = io.StringIO()
    call_command("check", "--deploy", "--fail-level", "ERROR", stdout=out, stderr=io.StringIO())
    assert "sora_videos" not in out.getvalue()


# --- /healthz ----------------------------------------------------------------------------
def test_healthz_answers_200_with_json_and_no_secrets(client, site, worker_seen):
    cache.delete(health.PROVIDERS_CACHE_KEY)
    response = client.get("/healthz")
    assert response.status_code == 200 and response["Cache-Control"].startswith("max-age=0")
    body = response.json()
    assert body["status"] == "ok"
    assert {c["name"] for c in body["checks"]} >= {"database", "broker", "storage", "workers", "provider default"}
    assert all(set(c) == {"name", "ok", "critical"} for c in body["checks"])  # no hosts or paths for strangers
    assert site.api_key not in response.content.decode()
    assert not _probes()  # no probe written by a health check


def test_healthz_shows_staff_what_each_check_saw(admin_client, site, worker_seen):
    body = admin_client.get("/healthz").json()
    checks = {c["name"]: c for c in body["checks"]}
    assert "connected, migrations applied" in checks["database"]["detail"]
    assert "host-1:4242" in checks["workers"]["detail"] and site.api_key not in json.dumps(body)


def test_healthz_stays_200_when_only_the_workers_are_down(client, site):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert not {c["name"]: c for c in body["checks"]}["workers"]["ok"]


def test_healthz_answers_503_when_the_storage_is_gone(client, site, settings, worker_seen):
    with missing_bucket(settings):
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["status"] == "unavailable"


def test_healthz_answers_503_while_the_broker_is_down_and_200_after(client, site, worker_seen, broker_down,
                                                                    monkeypatch):
    down = client.get("/healthz")
    assert down.status_code == 503 and not {c["name"]: c for c in down.json()["checks"]}["broker"]["ok"]
    monkeypatch.undo()  # the broker is back (broker_down set it through the same monkeypatch)
    assert client.get("/healthz").status_code == 200


def test_healthz_refuses_writes(client, site):
    assert client.post("/healthz").status_code == 405


# --- helpers -----------------------------------------------------------------------------
def _probes() -> list[str]:
    try:
        return get_storage().listdir("sora/doctor")[1]
    except FileNotFoundError:  # a local disk: never written at all
        return []
