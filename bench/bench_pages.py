"""Pages: gallery and admin job changelist response time and query count at 100, 10,000 and 100,000 jobs.

Rows are bulk-created (completed jobs get their video, thumbnail and spritesheet asset rows,
so thumbnails render; a few are failed, in flight or deleted; some are remixes; 20 owners)
in a temp SQLite database and, when reachable, a temp PostgreSQL one. Requests go through
the Django test client (all middleware, a signed-in superuser, ``DEBUG`` off); time is the
median of N requests after two warm-up ones, queries are counted on one more.

Ours: the gallery (``/``: keyset pagination, one query for the page plus one prefetch) on
its first page and deep in the table (a cursor half-way down). The naive way, on the same
template: ``Paginator`` with OFFSET and ``COUNT(*)``, and each card's assets and owner
loaded one by one. The admin's changelist is measured as it is.

    .venv/bin/python bench/bench_pages.py [--quick] [--sizes 100 10000 100000] [--repeats 15]
"""
from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.common import log  # noqa: E402

PROMPTS = [
    "A grey heron wading through a misty lake at dawn", "Rain on a neon-lit street at night, slow dolly",
    "A paper boat drifting down a gutter stream", "Timelapse of clouds over a mountain ridge",
    "A cat asleep on a sunny windowsill", "Waves breaking on black volcanic sand",
    "A hot air balloon rising over vineyards", "Steam curling from a cup of coffee, macro",
    "A fox crossing a snowy field at dusk", "City traffic from above, tilt-shift",
]


# --- the naive gallery (served by bench/pages_urls.py) ---------------------------------------------------
def naive_gallery(request: Any) -> Any:
    """The gallery as a first version would write it: OFFSET pages, a COUNT, and lazy relations per card."""
    from django.core.paginator import Paginator

    from videos.filters import GalleryFilterForm, Page
    from videos.models import JobStatus, VideoJob
    from videos.views.gallery import render_page

    qs = VideoJob.objects.exclude(status__in=(JobStatus.DELETED, JobStatus.DRAFT)).order_by("-created_at", "-pk")
    paginator = Paginator(qs, 24)
    page = paginator.get_page(request.GET.get("page"))
    jobs = list(page.object_list)
    for job in jobs:
        job.files = {a.variant: a for a in job.assets.all()}  # one query per card
        job.provider_label = job.provider
    context = {
        "form": GalleryFilterForm(None), "page": Page(items=jobs, first=page.number == 1), "jobs": jobs,
        "next_url": f"?page={page.next_page_number()}" if page.has_next() else "",
        "prev_url": f"?page={page.previous_page_number()}" if page.has_previous() else "",
        "first_url": "", "clear_url": "", "in_flight": any(job.is_active for job in jobs),
    }
    return render_page(request, "sora_videos/gallery.html", context)


# --- in the Django child ---------------------------------------------------------------------------------
def _seed(target: int, rng: random.Random, users: list[Any]) -> float:
    """Add jobs (and their asset rows) until the table holds ``target``; seconds taken."""
    import datetime as dt
    import uuid as uuidlib
    from decimal import Decimal

    from django.db import transaction
    from django.utils import timezone

    from videos import storage
    from videos.models import JobKind, JobStatus, VideoAsset, VideoJob

    start = time.perf_counter()
    have = VideoJob.objects.count()
    now = timezone.now()
    parents = list(VideoJob.objects.filter(status=JobStatus.COMPLETED).values_list("pk", flat=True)[:200])
    statuses = [JobStatus.COMPLETED] * 88 + [JobStatus.FAILED] * 4 + [JobStatus.IN_PROGRESS] * 2 + \
        [JobStatus.QUEUED] * 1 + [JobStatus.NEEDS_ATTENTION] * 1 + [JobStatus.DELETED] * 4
    batch = 5000
    while have < target:
        jobs = []
        for i in range(min(batch, target - have)):
            status = rng.choice(statuses)
            created = now - dt.timedelta(seconds=rng.uniform(60, 365 * 86400))
            done = status == JobStatus.COMPLETED
            remix = bool(parents) and rng.random() < 0.1
            size = rng.choice(("720x1280", "1280x720"))
            jobs.append(VideoJob(
                uuid=uuidlib.uuid4(), provider=common.PROVIDER, model="sora-2", size=size,
                seconds=rng.choice((4, 8, 12)), prompt_text=f"{rng.choice(PROMPTS)} (take {have + i})",
                kind=JobKind.REMIX if remix else JobKind.CREATE, parent_id=rng.choice(parents) if remix else None,
                status=status, remote_id=f"video_{uuidlib.uuid4().hex}", remote_status=status,
                progress=100 if done else rng.randint(0, 99), owner=rng.choice(users),
                estimated_cost=Decimal("0.40"), created_at=created, submitted_at=created + dt.timedelta(seconds=2),
                completed_at=created + dt.timedelta(seconds=90) if done else None,
                stored_at=created + dt.timedelta(seconds=95) if done else None,
                error_code="internal_error" if status == JobStatus.FAILED else "",
                error_message="The provider failed this video." if status == JobStatus.FAILED else "",
            ))
        with transaction.atomic():
            created_jobs = VideoJob.objects.bulk_create(jobs, batch_size=1000)
            assets = []
            for job in created_jobs:
                if job.status != JobStatus.COMPLETED:
                    continue
                w, h = job.width, job.height
                for variant, ctype, nbytes, dims in (("video", "video/mp4", 1_500_000, (w, h)),
                                                      ("thumbnail", "image/webp", 40_000, (w // 4, h // 4)),
                                                      ("spritesheet", "image/jpeg", 90_000, (1280, 456))):
                    assets.append(VideoAsset(
                        job=job, variant=variant, file=storage.asset_key(job.uuid, variant), bytes=nbytes,
                        sha256="0" * 64, content_type=ctype, width=dims[0], height=dims[1],
                        duration=float(job.seconds) if variant == "video" else None,
                    ))
            VideoAsset.objects.bulk_create(assets, batch_size=1000)
        have += len(jobs)
        if not parents:
            parents = [j.pk for j in created_jobs if j.status == JobStatus.COMPLETED][:200]
    return time.perf_counter() - start


def _measure(client: Any, url: str, repeats: int, marker: str) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    queries = len(ctx.captured_queries)  # now: every request start clears the connection's log
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    html = response.content.decode()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - start)
    return {"ms": statistics.median(times) * 1000, "queries": queries,
            "thumbs": html.count(marker), "bytes": len(html)}


def child_pages(sizes: list[int], repeats: int) -> list[dict[str, Any]]:
    """(Django child) Grow the table through ``sizes`` and measure the pages at each."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from videos.filters import encode_cursor
    from videos.models import JobStatus, VideoJob

    # DEBUG is off as deployed; static files without a collected manifest, and the naive gallery's URL
    staticfiles = {**settings.STORAGES["staticfiles"],
                   "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    override = override_settings(STORAGES={**settings.STORAGES, "staticfiles": staticfiles},
                                 ROOT_URLCONF="bench.pages_urls")
    override.enable()
    user_model = get_user_model()
    admin = user_model.objects.create_superuser("bench-admin", "admin@example.com", "x")
    users = [admin] + [user_model.objects.create_user(f"user{i}", f"user{i}@example.com", "x") for i in range(19)]
    client = Client()
    client.force_login(admin)
    rng = random.Random(7)
    rows = []
    for n in sizes:
        seeded = _seed(n, rng, users)
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        log(f"pages: {connection.vendor} at {n} jobs (seeded in {seeded:.1f} s)")
        visible = VideoJob.objects.exclude(status__in=(JobStatus.DELETED, JobStatus.DRAFT))
        total = visible.count()
        middle = visible.order_by("-created_at", "-pk").values_list("created_at", "pk")[total // 2]
        deep_page = total // 2 // 24 + 1
        pages = [
            ("ours: gallery /", "/", "card__thumb"),
            ("ours: gallery, half-way (cursor)", f"/?after={encode_cursor(*middle)}", "card__thumb"),
            ("naive: gallery, OFFSET + per-card queries", "/naive/", "card__thumb"),
            ("naive: gallery, half-way (OFFSET)", f"/naive/?page={deep_page}", "card__thumb"),
            ("admin: job changelist", "/admin/sora_videos/videojob/", "sora-thumb\" src"),
        ]
        for label, url, marker in pages:
            result = _measure(client, url, repeats, marker)
            rows.append({"db": connection.vendor, "jobs": n, "page": label, **result})
            log(f"  {label}: {result['ms']:.1f} ms, {result['queries']} queries")
    override.disable()
    return rows


# --- the benchmark ----------------------------------------------------------------------------------------
def run(quick: bool = False, sizes: list[int] | None = None, repeats: int | None = None,
        db: list[str] | None = None) -> common.Outcome:
    sizes = sorted(sizes or ([100, 1000] if quick else [100, 10_000, 100_000]))
    repeats = repeats or (3 if quick else 15)
    backends = db or (["sqlite"] if quick or not common.postgres_available() else ["sqlite", "postgres"])
    rows = []
    for backend in backends:
        with common.workdir() as where, common.database(backend, where) as url:
            env = common.site_env(where, url, common.sora_options("http://127.0.0.1:9/v1"))
            rows += common.django_call(env, "bench.bench_pages:child_pages", sizes=sizes, repeats=repeats)

    headers = ["database", "page"] + [f"{n:,} jobs ms" for n in sizes] + [f"queries at {n:,}" for n in sizes]
    body_rows, goals = [], []
    for backend in sorted({r["db"] for r in rows}):
        for page in dict.fromkeys(r["page"] for r in rows):
            cells = {r["jobs"]: r for r in rows if r["db"] == backend and r["page"] == page}
            body_rows.append([backend, page] + [cells[n]["ms"] for n in sizes] + [cells[n]["queries"] for n in sizes])
        gallery = {r["jobs"]: r for r in rows if r["db"] == backend and r["page"] == "ours: gallery /"}
        small, large = gallery[sizes[0]], gallery[sizes[-1]]
        ratio = large["ms"] / small["ms"]
        goals.append((f"{backend}: gallery time at {sizes[-1]:,} jobs within 1.5x of its time at {sizes[0]:,} "
                      f"({large['ms']:.1f} vs {small['ms']:.1f} ms: {ratio:.2f}x)", ratio <= 1.5))
    thumbs = {(r["db"], r["page"]): r["thumbs"] for r in rows if r["jobs"] == sizes[-1]}
    print(common.table(headers, body_rows))
    body = "\n".join([
        "## Pages (`bench/bench_pages.py`)",
        "",
        f"Django test client, signed-in superuser, `DEBUG` off; median of {repeats} requests after 2 warm-ups; "
        "queries counted on one more request (session and user included). About 88% of the jobs are completed "
        "with 3 asset rows each, so cards and changelist rows show thumbnails "
        f"(at {sizes[-1]:,} jobs the first page showed "
        + ", ".join(f"{v} on {db} {page.split(':')[0]}" for (db, page), v in thumbs.items()
                    if page in ("ours: gallery /", "admin: job changelist")) + "). "
        "Naive: the same template fed by `Paginator` (OFFSET + `COUNT(*)`) with each card's assets and owner "
        "loaded lazily.",
        "",
        common.table(headers, body_rows),
        "",
        *common.goal_lines(goals),
    ])
    return common.Outcome("pages", body, goals)


def _arguments(parser: Any) -> None:
    parser.add_argument("--sizes", type=int, nargs="+", help="job counts (default 100 10000 100000; quick 100 1000)")
    parser.add_argument("--repeats", type=int, help="timed requests per page (default 15; quick 3)")
    parser.add_argument("--db", nargs="+", choices=("sqlite", "postgres"),
                        help="default: both when reachable; quick: sqlite")


if __name__ == "__main__":
    common.main("pages", run, add_arguments=_arguments)
