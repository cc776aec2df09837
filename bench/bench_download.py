"""Downloads: peak worker memory and throughput for 200 MB and 1 GB MP4s, ours vs the SDK and a plain copy.

The emulator pads every MP4 with a ``free`` box (``--content-padding``), generated while
streaming, so the files stay valid. Each variant runs in a fresh process, one at a time,
and reports its RSS before the transfer (idle, everything imported) and its peak during it
(Linux ``VmHWM`` after resetting it through ``/proc/self/clear_refs``). Each process first
runs its variant once untimed, as a worker that has already run a job would have its
imports, caches and connections warm:

- ours: ``videos.downloads.download(job_id)`` with Django set up against a temp SQLite
  database, the job ``downloading`` and pointing at the emulator's completed video: the
  MP4 streamed to a temp file, probed, the thumbnail and spritesheet fetched and checked,
  everything moved under its key and the asset rows written, the job completed. Throughput
  counts only the MP4's bytes over the whole call. With the default ``DOWNLOAD_SHA256``
  (``auto``: a local disk) the SHA-256 is then computed by its own task, timed on its own
  (``fingerprint`` column); the ``inline`` row hashes while downloading instead.
- SDK: ``client.videos.download_content(id).write_to_file(path)`` (what the SDK offers first).
- plain copies, no checks: ``httpx2`` (the SDK's transport) streaming the URL into a file as
  chunks arrive, and ``urllib`` with ``shutil.copyfileobj`` (1 MiB reads).

    .venv/bin/python bench/bench_download.py [--quick] [--sizes-mb 200 1000] [--repeats 5]
"""
from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.common import log  # noqa: E402

MB = 1_000_000
CHUNK = 1024 * 1024
LABELS = {
    "ours": "ours: videos.downloads.download",
    "ours_inline": "ours, DOWNLOAD_SHA256=inline",
    "sdk": "SDK: download_content().write_to_file()",
    "httpx2": "plain copy: httpx2 stream → file",
    "urllib": "plain copy: urllib copyfileobj → file",
}


class Meter:
    """Idle RSS now; then the peak RSS of ``measure(fn)`` (VmHWM reset, plus a 10 ms sampler as a check)."""

    def __init__(self) -> None:
        self.idle_kib = common.rss_kib()[0]

    def measure(self, fn: Callable[[], Any]) -> dict[str, Any]:
        sampled = [0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.01):
                sampled[0] = max(sampled[0], common.rss_kib()[0])

        reset = common.reset_peak_rss()
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
        stop.set()
        sampler.join()
        peak_kib = common.rss_kib()[1] if reset else sampled[0]
        return {"idle": self.idle_kib * 1024 / MB, "peak": max(peak_kib, sampled[0]) * 1024 / MB,
                "seconds": seconds, "hwm_reset": reset}


# --- children (one fresh process per measurement) ----------------------------------------------------
def child_ours(video_id: str, video_bytes: int, remote: dict[str, Any]) -> dict[str, Any]:
    """(Django child) ``videos.downloads.download`` for a job that points at ``video_id``;
    then the fingerprint task, if the download left one to do, timed apart."""
    import shutil

    import av  # noqa: F401  what a worker has loaded after its first job
    from django.conf import settings
    from django.utils import timezone
    from PIL import Image  # noqa: F401

    from videos import downloads
    from videos.models import JobStatus, VideoJob
    from videos.providers import get_provider

    def new_job() -> VideoJob:
        VideoJob.objects.all().delete()
        shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
        return VideoJob.objects.create(
            provider=common.PROVIDER, model=common.MODEL, size=common.SIZE, seconds=common.SECONDS,
            prompt_text=remote["prompt"], status=JobStatus.DOWNLOADING, remote_id=video_id, remote_payload=remote,
            remote_status="completed", progress=100, completed_at=timezone.now(),
            expires_at=timezone.now() + dt.timedelta(hours=1),
        )

    get_provider(common.PROVIDER).client(300.0, streaming=True)
    downloads.download(new_job().pk)  # warm-up: a worker that has run a job (untimed)
    job = new_job()
    transfer: dict[str, float] = {}
    fetch = downloads.fetch

    def timed_fetch(*args: Any, **kwargs: Any) -> Any:  # times the MP4's transfer inside the task
        start = time.perf_counter()
        fetched = fetch(*args, **kwargs)
        transfer.setdefault(fetched.variant, time.perf_counter() - start)
        return fetched

    downloads.fetch = timed_fetch
    meter = Meter()
    result = meter.measure(lambda: downloads.download(job.pk))
    downloads.fetch = fetch
    result["transfer"] = transfer.get("video")
    job.refresh_from_db()
    fingerprint = None
    if job.assets.filter(sha256="").exists():
        start = time.perf_counter()
        downloads.fingerprint(job.pk)
        fingerprint = time.perf_counter() - start
    video = job.assets.filter(variant="video").first()
    ok = (job.status == JobStatus.COMPLETED and video is not None and video.bytes == video_bytes
          and len(video.sha256) == 64)
    result["fingerprint"] = fingerprint
    shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)  # 1 GB per run: free it now
    return {**result, "ok": ok, "detail": job.error_message or job.status}


def child_sdk(base_url: str, api_key: str, video_id: str, path: str, video_bytes: int) -> dict[str, Any]:
    """The SDK's ``download_content(id).write_to_file(path)``."""
    import warnings

    import openai

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=300.0)
    client.videos.download_content(video_id).write_to_file(path)  # warm-up (untimed), as for every variant
    os.unlink(path)
    meter = Meter()
    result = meter.measure(lambda: client.videos.download_content(video_id).write_to_file(path))
    ok = os.path.getsize(path) == video_bytes
    os.unlink(path)
    return {**result, "ok": ok, "detail": ""}


def child_plain(url: str, api_key: str, path: str, video_bytes: int, client: str) -> dict[str, Any]:
    """A plain streaming copy into a file, no checks: ``httpx2`` (the SDK's transport) or ``urllib``."""
    import shutil
    import urllib.request

    headers = {"Authorization": f"Bearer {api_key}"}
    if client == "httpx2":
        import httpx2

        session = httpx2.Client(timeout=300.0)

        def copy() -> None:
            with session.stream("GET", url, headers=headers) as response, open(path, "wb") as out:
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    out.write(chunk)
    else:
        def copy() -> None:
            request = urllib.request.Request(url, headers=headers)
            with urllib.request.urlopen(request, timeout=300) as response, open(path, "wb") as out:
                shutil.copyfileobj(response, out, CHUNK)

    copy()  # warm-up (untimed), as for every variant
    os.unlink(path)
    meter = Meter()
    result = meter.measure(copy)
    ok = os.path.getsize(path) == video_bytes
    os.unlink(path)
    return {**result, "ok": ok, "detail": ""}


# --- the benchmark -------------------------------------------------------------------------------------
def measure_size(size_mb: int, repeats: int) -> list[dict[str, Any]]:
    padding = size_mb * MB
    log(f"download: {size_mb} MB asset, {repeats} rounds")
    with common.workdir() as where:
        emu = common.emulator(generation_time=0.5, fps=1, extra_args=("--content-padding", str(padding))).start()
        try:
            client = emu.client()
            video = client.videos.create(prompt=common.PROMPT.format(i=0), model=common.MODEL, size=common.SIZE,
                                         seconds=str(common.SECONDS))
            remote = emu.complete(video.id)
            video_bytes = emu.job(video.id)["emulator"]["assets"]["video"]["size"]
            plain_env = {**os.environ, "PYTHONPATH": str(common.ROOT)}
            with common.database("sqlite", where) as url:
                django_env = common.site_env(where, url, common.sora_options(emu.base_url))
                wire = {k: v for k, v in remote.items() if k != "emulator"}
                content_url = f"{emu.base_url}/videos/{video.id}/content"
                inline_env = common.site_env(where, url, common.sora_options(emu.base_url, DOWNLOAD_SHA256="inline"))
                variants: dict[str, Callable[[], dict[str, Any]]] = {
                    "ours": lambda: common.django_call(
                        django_env, "bench.bench_download:child_ours", video_id=video.id, video_bytes=video_bytes,
                        remote=wire),
                    "ours_inline": lambda: common.django_call(
                        inline_env, "bench.bench_download:child_ours", video_id=video.id, video_bytes=video_bytes,
                        remote=wire),
                    "sdk": lambda: common.django_call(
                        plain_env, "bench.bench_download:child_sdk", django=False, base_url=emu.base_url,
                        api_key=emu.api_key, video_id=video.id, path=str(where / "sdk.mp4"), video_bytes=video_bytes),
                    "httpx2": lambda: common.django_call(
                        plain_env, "bench.bench_download:child_plain", django=False, url=content_url,
                        api_key=emu.api_key, path=str(where / "plain.mp4"), video_bytes=video_bytes, client="httpx2"),
                    "urllib": lambda: common.django_call(
                        plain_env, "bench.bench_download:child_plain", django=False, url=content_url,
                        api_key=emu.api_key, path=str(where / "plain.mp4"), video_bytes=video_bytes, client="urllib"),
                }
                runs: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
                for round_no in range(repeats):  # interleaved, so drift hits every variant alike
                    for name, call in variants.items():
                        result = call()
                        if not result["ok"]:
                            raise RuntimeError(f"{LABELS[name]} did not download the {size_mb} MB file: "
                                               f"{result['detail']}")
                        runs[name].append(result)
                        log(f"  {LABELS[name]} round {round_no + 1}: {video_bytes / MB / result['seconds']:.0f} MB/s, "
                            f"peak {result['peak']:.0f} MB (idle {result['idle']:.0f} MB)")
        finally:
            emu.stop()
    rows = []
    for name, results in runs.items():
        rates = [video_bytes / MB / r["seconds"] for r in results]
        transfers = [video_bytes / MB / (r.get("transfer") or r["seconds"]) for r in results]
        rows.append({
            "key": name, "variant": LABELS[name], "size_mb": video_bytes / MB,
            "idle": statistics.median(r["idle"] for r in results),
            "peak": max(r["peak"] for r in results),
            "delta": max(r["peak"] - r["idle"] for r in results),
            "rate": statistics.median(rates), "rates": rates,
            "transfer": statistics.median(transfers),
            "fixed_ms": statistics.median((r["seconds"] - (r.get("transfer") or r["seconds"])) * 1000 for r in results),
            "fingerprint": (statistics.median(r["fingerprint"] for r in results)
                            if results and results[0].get("fingerprint") is not None else None),
        })
    return rows


def run(quick: bool = False, sizes_mb: list[int] | None = None, repeats: int | None = None) -> common.Outcome:
    sizes = sizes_mb or ([20] if quick else [200, 1000])
    repeats = repeats or (1 if quick else 5)
    groups = [(size, measure_size(size, repeats)) for size in sizes]
    headers = ["variant", "MP4 MB", "idle RSS MB", "peak RSS MB", "peak − idle MB", "whole call MB/s",
               "MP4 transfer MB/s", "transfer vs httpx2 copy", "transfer vs urllib copy", "whole call vs urllib copy",
               "then SHA-256 task s"]
    body_rows, goals, notes = [], [], []
    for size, group in groups:
        by = {r["key"]: r for r in group}
        httpx_copy, urllib_copy, ours = by["httpx2"], by["urllib"], by["ours"]
        for r in group:
            body_rows.append([r["variant"], r["size_mb"], r["idle"], r["peak"], r["delta"], r["rate"], r["transfer"],
                              f"{r['transfer'] / httpx_copy['rate'] * 100:.0f}%",
                              f"{r['transfer'] / urllib_copy['rate'] * 100:.0f}%",
                              f"{r['rate'] / urllib_copy['rate'] * 100:.0f}%",
                              "–" if r.get("fingerprint") is None else r["fingerprint"]])
        if size >= 1000:
            goals.append((f"worker memory while downloading {size / 1000:g} GB ≤ 64 MB above idle "
                          f"(measured +{ours['delta']:.1f} MB)", ours["delta"] <= 64))
        whole = ours["rate"] / urllib_copy["rate"]
        if size == 200:  # issue 15, goal 4
            goals.append((f"the whole download task at {size} MB ≥ 90% of a plain urllib copy of the MP4 "
                          f"(measured {whole * 100:.0f}%)", whole >= 0.9))
        if size >= 200:
            notes.append(f"- Whole task at {size} MB: {ours['rate']:,.0f} MB/s, {whole * 100:.0f}% of the urllib copy; "
                         f"its MP4 transfer alone {ours['transfer'] / urllib_copy['rate'] * 100:.0f}% "
                         f"(and {ours['transfer'] / httpx_copy['rate'] * 100:.0f}% of the httpx2 copy); besides the "
                         f"transfer it spends {ours['fixed_ms']:.0f} ms per job whatever the size (claim, the two "
                         "preview requests and their checks, the PyAV probe, the moves, one transaction).")
    print(common.table(headers, body_rows))
    body = "\n".join([
        "## Downloads (`bench/bench_download.py`)",
        "",
        f"One emulator video ({common.SIZE}, {common.SECONDS} s) padded to the size shown, served over loopback; "
        f"each variant in a fresh process, {repeats} interleaved rounds (peak: the worst round; MB/s: the median). "
        "RSS in MB of 10^6 bytes; peak = `VmHWM` after resetting it just before the transfer. Ours does the whole "
        "task (MP4 streamed through the SDK's request on our `DirectTransport`, probed, thumbnail and spritesheet "
        "fetched and checked, files moved into `MEDIA_ROOT`, rows written, job completed): its whole-call MB/s "
        "counts the MP4's bytes over all of that, its transfer MB/s over the MP4's own transfer inside the task "
        "(request to last byte in the temp file, size checked), which is what the plain copies do. By default "
        "(`DOWNLOAD_SHA256` `auto`, a local disk, files over 64 MiB) the MP4's SHA-256 is recorded just after, by "
        "its own task (last column: its seconds, on the same worker); the `inline` row hashes while downloading.",
        "",
        common.table(headers, body_rows),
        "",
        *common.goal_lines(goals),
        *notes,
        *explain(groups),
    ])
    return common.Outcome("download", body, goals)


def sha256_rate(megabytes: int = 200) -> float:
    """MB/s of hashlib.sha256 on this machine, alone (1 MiB updates, in memory)."""
    import hashlib

    block = bytes(CHUNK)
    digest = hashlib.sha256()
    start = time.perf_counter()
    for _ in range(megabytes * MB // CHUNK):
        digest.update(block)
    return megabytes * MB // CHUNK * CHUNK / MB / (time.perf_counter() - start)


def explain(groups: list[tuple[int, list[dict[str, Any]]]]) -> list[str]:
    """Why the default defers SHA-256, in this run's numbers."""
    big = [group for size, group in groups if size >= 200]
    if not big:
        return []
    by = {r["key"]: r for r in big[-1]}
    hashing = sha256_rate()
    return [
        f"- SHA-256 alone runs at {hashing:,.0f} MB/s on this CPU, {hashing / by['urllib']['rate'] * 100:.0f}% of "
        f"the urllib copy ({by['urllib']['rate']:,.0f} MB/s): a download that hashes while it streams is capped "
        f"there (the `inline` row: {by['ours_inline']['transfer']:,.0f} MB/s), so by default a big video is stored "
        "and visible first and hashed right after by its own task (files up to 64 MiB are hashed inline: a few ms, "
        "overlapping the transfer, cheaper than a task). On S3 (`auto` = `inline`) the upload is far "
        "slower than hashing, which then costs nothing. The SDK's own transport (`httpx2` parsing 64 KiB h11 "
        f"events in Python) tops out near {by['httpx2']['rate']:,.0f} MB/s even with no checks; the SDK still "
        "builds our content requests (auth, base URL, redirects, errors) but `DirectTransport` carries the "
        "bytes. Over a real network link (well below these rates) every variant is network-bound.",
    ]


def _arguments(parser: Any) -> None:
    parser.add_argument("--sizes-mb", type=int, nargs="+", help="padding in MB (default 200 1000; quick 20)")
    parser.add_argument("--repeats", type=int, help="interleaved rounds per variant (default 5; quick 1)")


if __name__ == "__main__":
    common.main("download", run, add_arguments=_arguments)
