"""Downloads through the streaming transport, and the SHA-256 recorded while or after storing."""
from __future__ import annotations

import datetime as dt
import hashlib
import http.server
import socket
import ssl
import subprocess
import tempfile
import threading
import urllib.error
import urllib.request
from typing import Any, Iterator

import boto3
import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from videos import downloads, services, storage, transfer
from videos.exceptions import ConfigurationError, ProviderError
from videos.models import JobError, JobStatus, VideoAsset, VideoJob
from videos.pipeline import sweep_once
from videos.providers import get_provider, transport
from videos.providers.client import build_client, reset_clients
from videos.providers.transport import DirectTransport

from ..profile_checks import missing_bucket
from ..support import drain, queued_funcs, settle, sora_settings
from .helpers import assert_assets_match_emulator, assert_no_partial_files

pytestmark = pytest.mark.django_db(transaction=True)


def make() -> VideoJob:
    return services.create_video("A lighthouse beam sweeping over fog", size="1280x720", seconds=4)


def run_until_downloading(job: VideoJob, emu: Any) -> VideoJob:
    """Submit the job and let it finish remotely; leave the download task queued."""
    drain()
    job.refresh_from_db()
    emu.complete(job.remote_id)
    job = services.refresh(job)
    assert job.status == JobStatus.DOWNLOADING
    return job


# --- the streaming transport -------------------------------------------------------------------------
@pytest.mark.slow  # tests the HTTP transport itself
def test_content_travels_through_the_direct_transport_with_the_sdks_request(sora):
    provider = get_provider("emu")
    client = build_client(provider.config, timeout=300.0, streaming=True)
    assert isinstance(client._client._transport, DirectTransport)
    job = run_until_downloading(make(), sora)
    with provider.open_content(job.remote_id, "video") as response:
        body = b"".join(response.iter_bytes())
        assert response.headers["content-type"] == "video/mp4"
    served = sora.job(job.remote_id)["emulator"]["assets"]["video"]
    assert hashlib.sha256(body).hexdigest() == served["sha256"] and len(body) == served["size"]
    assert sora.stats()["requests"]["content"] == 1


@pytest.mark.slow  # counts TCP connections
def test_a_jobs_files_travel_on_one_kept_alive_connection(sora):
    provider = get_provider("emu")
    job = run_until_downloading(make(), sora)
    reset_clients()  # no connection kept from an earlier test

    def opened_since(mark: int) -> int:  # each control call opens a connection of its own
        return sora.stats()["connections"] - mark - 1

    before = sora.stats()["connections"]
    for variant in ("video", "thumbnail", "spritesheet"):
        with provider.open_content(job.remote_id, variant) as response:
            assert sum(len(chunk) for chunk in response.iter_bytes()) > 0
    assert opened_since(before) == 1
    before = sora.stats()["connections"]
    # a connection that fails before any answer (as one the server closed while idle does)
    # is replaced once for a GET; a body cut short is an error, never retried
    sora.set_faults([{"endpoint": "content", "fault": "drop_response", "times": 1}])
    with provider.open_content(job.remote_id, "video") as response:
        assert sum(len(chunk) for chunk in response.iter_bytes()) > 0
    assert opened_since(before) == 2  # the set_faults call's, and the replacement
    sora.set_faults([{"endpoint": "content", "fault": "truncate", "times": 1}])
    with pytest.raises(ProviderError):
        with provider.open_content(job.remote_id, "video") as response:
            b"".join(response.iter_bytes())


def test_content_errors_keep_status_code_and_retry_hint(sora):
    provider = get_provider("emu")
    with pytest.raises(ProviderError) as missing:
        with provider.open_content("video_does_not_exist", "video"):
            pass
    assert missing.value.status_code == 404 and "video_does_not_exist" in str(missing.value)
    job = run_until_downloading(make(), sora)
    sora.set_faults([{"endpoint": "content", "fault": "http_429", "times": 1, "retry_after": 7}])
    with pytest.raises(ProviderError) as limited:
        with provider.open_content(job.remote_id, "video"):
            pass
    assert limited.value.status_code == 429 and limited.value.retry_after == 7


def read_all(response, how: str) -> bytes:
    """A content response's body, read as the download reads it: ``iter_bytes``, or into one
    reused buffer (``videos.transfer.copy_into`` through the transport's ``readinto``)."""
    if how == "iter_bytes":
        return b"".join(response.iter_bytes())
    readinto = transport.reader(response.http_response)
    assert readinto is not None, "DirectTransport did not carry this response"
    with tempfile.TemporaryFile() as out:
        copied = transfer.copy_into(readinto, out, chunk_size=64 * 1024, tick=lambda: None)
        out.seek(0)
        body = out.read()
    assert copied == len(body)
    return body


@pytest.mark.parametrize("how", ["iter_bytes", pytest.param("readinto", marks=pytest.mark.slow)])  # real HTTP
def test_a_truncated_body_is_an_error_not_a_short_file(sora, how):
    reset_clients()  # a client made under another test's proxy variables would not be ours
    job = run_until_downloading(make(), sora)
    sora.set_faults([{"endpoint": "content", "fault": "truncate", "times": 1}])
    with pytest.raises(ProviderError) as broken:
        with get_provider("emu").open_content(job.remote_id, "video") as response:
            read_all(response, how)
    assert broken.value.status_code is None and "connection broke" in str(broken.value)
    assert "complete message body" in str(broken.value)


@pytest.mark.slow  # DirectTransport carries the body only over real HTTP
def test_a_truncated_video_read_into_one_buffer_is_retried_not_stored(settings, sora):
    """Without inline hashing the MP4 travels through ``copy_into``: a body cut short is a
    failed attempt with its reason, no file and no asset row."""
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "DOWNLOAD_SHA256": "deferred"}
    job = run_until_downloading(make(), sora)
    sora.set_faults([{"endpoint": "content", "fault": "truncate", "times": 1}])
    downloads.download(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.DOWNLOADING and job.error_code == JobError.DOWNLOAD_RETRY
    assert "Download attempt 1 of" in job.error_message and "complete message body" in job.error_message
    assert not job.assets.exists()
    assert_no_partial_files()
    VideoJob.objects.filter(pk=job.pk).update(not_before=None)
    downloads.download(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED
    drain()
    assert_assets_match_emulator(job, sora)


def test_unreachable_provider_is_a_clear_error(settings, emu, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(emu, provider={"BASE_URL": "http://127.0.0.1:9/v1"})  # discard: refused
    with pytest.raises(ProviderError) as refused:
        with get_provider("emu").open_content("video_x", "video"):
            pass
    assert refused.value.status_code is None and not refused.value.ambiguous


class _Origin(http.server.BaseHTTPRequestHandler):
    """A server that redirects ``/v1/videos/<id>/content`` to a second origin (a CDN) that
    answers with a chunked body, recording what each one received."""

    seen: list[dict[str, str]] = []
    body = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4000
    cdn_port = 0

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        type(self).seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
        if self.path.startswith("/tls/"):
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body)
            return
        if self.path.startswith("/v1/"):
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{type(self).cdn_port}/signed/abc?sig=1")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for start in range(0, len(self.body), 70_000):
            part = self.body[start:start + 70_000]
            self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")


@pytest.fixture
def origin() -> Iterator[tuple[str, type[_Origin]]]:
    servers = [http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Origin) for _ in range(2)]
    _Origin.seen, _Origin.cdn_port = [], servers[1].server_address[1]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield f"http://127.0.0.1:{servers[0].server_address[1]}/v1", _Origin
    for server in servers:
        server.shutdown()
        server.server_close()


def test_redirect_to_another_origin_drops_the_key_and_chunked_bodies_arrive_whole(settings, emu, tmp_path, origin):
    base_url, handler = origin
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.SORA_VIDEOS = sora_settings(emu, provider={"BASE_URL": base_url})
    for how in ("iter_bytes", "readinto"):
        with get_provider("emu").open_content("video_abc", "video") as response:
            assert read_all(response, how) == handler.body
    api, cdn = handler.seen[-2:]
    assert api["path"] == "/v1/videos/video_abc/content?variant=video"
    assert api["authorization"].startswith("Bearer ") and api["accept-encoding"] == "identity"
    assert cdn["path"] == "/signed/abc?sig=1" and "authorization" not in cdn  # the key never leaves its origin


def test_https_providers_are_verified_against_the_trust_store(settings, emu, tmp_path, monkeypatch):
    """Hosted providers speak TLS: the certificate is checked with the SDK's trust store
    (here SSL_CERT_FILE, as httpx2 honours it), and an untrusted one is refused."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Origin)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Origin.seen = []
    try:
        settings.MEDIA_ROOT = str(tmp_path / "media")
        base_url = f"https://127.0.0.1:{server.server_address[1]}/tls/v1"
        settings.SORA_VIDEOS = sora_settings(emu, provider={"BASE_URL": base_url})
        with pytest.raises(ProviderError) as untrusted:  # not in the trust store yet
            with get_provider("emu").open_content("video_tls", "video"):
                pass
        assert untrusted.value.status_code is None
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        settings.SORA_VIDEOS = sora_settings(emu, provider={"BASE_URL": base_url, "LABEL": "trusted now"})
        from videos.providers.client import reset_clients

        reset_clients()
        with get_provider("emu").open_content("video_tls", "video") as response:
            assert b"".join(response.iter_bytes()) == _Origin.body
        assert _Origin.seen[-1]["path"] == "/tls/v1/videos/video_tls/content?variant=video"
    finally:
        server.shutdown()
        server.server_close()


class _Proxy(http.server.BaseHTTPRequestHandler):
    """A forward HTTP proxy (absolute-form GET), recording what it relayed."""

    relayed: list[str] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        type(self).relayed.append(self.path)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "proxy-connection", "connection")}
        try:
            upstream = urllib.request.build_opener(urllib.request.ProxyHandler({})).open(
                urllib.request.Request(self.path, headers=headers))
        except urllib.error.HTTPError as exc:
            upstream = exc
        body = upstream.read()
        self.send_response(upstream.code)
        for name, value in upstream.headers.items():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.slow  # tests the HTTP transport itself
def test_a_proxy_from_the_environment_is_used_for_downloads(sora, monkeypatch):
    """httpx2 ignores HTTP(S)_PROXY once given a transport: with one set, downloads keep the SDK's transport."""
    from videos.providers.client import reset_clients

    job = run_until_downloading(make(), sora)
    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    _Proxy.relayed = []
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_address[1]}")
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        reset_clients()
        provider = get_provider("emu")
        assert not isinstance(build_client(provider.config, timeout=300.0, streaming=True)._client._transport,
                              DirectTransport)
        with provider.open_content(job.remote_id, "video") as response:
            body = b"".join(response.iter_bytes())
        assert hashlib.sha256(body).hexdigest() == sora.job(job.remote_id)["emulator"]["assets"]["video"]["sha256"]
        assert _Proxy.relayed == [f"{sora.base_url}/videos/{job.remote_id}/content?variant=video"]
    finally:
        reset_clients()
        proxy.shutdown()
        proxy.server_close()


# --- SHA-256 while or after storing --------------------------------------------------------------------
def test_deferred_sha256_is_recorded_by_its_own_task_after_the_video_is_stored(settings, sora):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "DOWNLOAD_SHA256": "deferred"}
    job = run_until_downloading(make(), sora)
    downloads.download(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.COMPLETED and job.stored_at is not None
    assert set(job.assets.values_list("sha256", flat=True)) - {""} <= {a.sha256 for a in job.assets.filter(derived=True)}
    assert job.assets.get(variant="video").sha256 == ""  # visible and stored, fingerprint still to come
    assert "videos.tasks.fingerprint_job" in queued_funcs()
    drain()
    assert not job.assets.filter(sha256="").exists()
    assert_assets_match_emulator(job, sora)
    assert_no_partial_files()


def test_inline_sha256_is_recorded_before_the_job_completes(settings, sora):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "DOWNLOAD_SHA256": "inline"}
    job = run_until_downloading(make(), sora)
    downloads.download(job.pk)
    assert not VideoAsset.objects.filter(job=job, sha256="").exists()
    assert "videos.tasks.fingerprint_job" not in queued_funcs()
    assert_assets_match_emulator(job, sora)


def test_auto_hashes_small_files_inline_and_defers_big_ones_on_a_local_disk(settings, emulators, tmp_path):
    """``auto``: on a local disk, files over AUTO_DEFER_ABOVE are hashed after storing (their
    hash would hold back the download); smaller ones, and anything bound for remote storage,
    while they download (no extra task)."""
    big = emulators.get(extra_args=("--content-padding", str(downloads.AUTO_DEFER_ABOVE + 1_000_000)))
    settings.MEDIA_ROOT = str(tmp_path / "media")
    for emu, big_file in ((emulators.get(), False), (big, True)):
        settings.SORA_VIDEOS = sora_settings(emu, DOWNLOAD_SHA256="auto")
        job = run_until_downloading(make(), emu)
        downloads.download(job.pk)
        deferred = set(job.assets.filter(sha256="").values_list("variant", flat=True))
        assert deferred == ({"video"} if big_file and storage.is_local() else set())
        assert ("videos.tasks.fingerprint_job" in queued_funcs()) is bool(deferred)
        drain()
        assert_assets_match_emulator(job, emu)


def test_a_lost_fingerprint_task_is_queued_again_by_the_sweep(settings, sora):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "DOWNLOAD_SHA256": "deferred"}
    job = run_until_downloading(make(), sora)
    downloads.download(job.pk)
    from django_q.brokers import get_broker

    get_broker().purge_queue()  # the worker that would have hashed died
    provider = get_provider(job.provider)
    sweep_once(provider)
    assert "videos.tasks.fingerprint_job" not in queued_funcs()  # too recent: it may still be running
    VideoAsset.objects.filter(job=job).update(created_at=VideoAsset.objects.get(job=job, variant="video").created_at
                                              - dt.timedelta(minutes=2))
    sweep_once(provider)
    assert queued_funcs().count("videos.tasks.fingerprint_job") == 1
    sweep_once(provider)  # held back while queued: not twice
    assert queued_funcs().count("videos.tasks.fingerprint_job") == 1
    settle([job])
    drain()
    assert_assets_match_emulator(job, sora)


def test_unknown_download_sha256_mode_names_the_setting(settings):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "DOWNLOAD_SHA256": "sometimes"}
    from videos import conf

    with pytest.raises(ConfigurationError) as bad:
        conf.validate()
    assert bad.value.setting == "SORA_VIDEOS['DOWNLOAD_SHA256']"
    with pytest.raises(SystemCheckError, match="DOWNLOAD_SHA256"):
        call_command("check")


# --- a store that keeps failing -------------------------------------------------------------------------
def test_a_store_that_keeps_failing_says_why_and_when_then_needs_attention(settings, sora, admin_client):
    """NoSuchBucket named on the job, in the gallery's JSON and page and the admin's, with the
    next try; after the last attempt the job needs attention with that reason, before it expires."""
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "DOWNLOAD_MAX_ATTEMPTS": 2}
    job = run_until_downloading(make(), sora)
    with missing_bucket(settings) as bucket:
        drain()  # the download: fetched and checked, then the store refuses it
        job.refresh_from_db()
        assert job.status == JobStatus.DOWNLOADING and job.not_before is not None
        reason = job.error_message
        assert reason.startswith("Download attempt 1 of 2 failed: storing failed: NoSuchBucket")
        assert f"bucket {bucket!r}" in reason and "Next try at" in reason
        status = admin_client.get(reverse("videos:job_status", args=[job.uuid])).json()
        assert status["active"] and status["note"] == reason
        assert escape(reason) in admin_client.get(reverse("videos:detail", args=[job.uuid])).content.decode()
        assert escape(reason) in admin_client.get(reverse("videos:gallery")).content.decode()
        live = admin_client.get(reverse("admin:sora_videos_videojob_change", args=[job.pk])).content.decode()
        assert escape(reason) in live

        VideoJob.objects.filter(pk=job.pk).update(not_before=timezone.now())  # the next try is due
        sweep_once(get_provider(job.provider))
        drain()
    job.refresh_from_db()
    assert job.status == JobStatus.NEEDS_ATTENTION and "NoSuchBucket" in job.error_message
    assert "Retry download" in job.error_message
    assert job.expires_at is None or timezone.now() < job.expires_at
    assert not VideoAsset.objects.filter(job=job).exists()
    assert not storage.incoming_files()  # each attempt's temp files were removed


def test_a_storage_outage_is_shown_then_heals_by_itself(settings, sora):
    """An S3 server (moto, a process-local one) goes away mid-download: the job says so and
    when it tries next; once the server is back the next try stores the files."""
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    options = {"bucket_name": "sora-outage", "endpoint_url": endpoint, "region_name": "us-east-1",
               "access_key": "testing", "secret_key": "testing", "file_overwrite": True, "default_acl": None}
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket="sora-outage")
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage",
                                                          "OPTIONS": options}}
    try:
        job = run_until_downloading(make(), sora)
        server.stop()  # the outage
        drain()
        job.refresh_from_db()
        assert job.status == JobStatus.DOWNLOADING and job.error_code == "download_retry"
        assert "storing failed" in job.note and f"bucket 'sora-outage' at {endpoint}" in job.note
        assert "Next try at" in job.note

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()  # back, with what it held
        VideoJob.objects.filter(pk=job.pk).update(not_before=timezone.now())  # the next try is due
        sweep_once(get_provider(job.provider))
        drain()
        job.refresh_from_db()
        assert job.status == JobStatus.COMPLETED and job.error_message == "" and job.assets.count() == 3
        assert_assets_match_emulator(job, sora)
    finally:
        server.stop()
