"""The asset, webhook event and reference image changelists on large tables, as the job changelist
(test_large_tables.py): a bounded count, an indexed date hierarchy, filter choices from the
configuration, a default order on an index.

Query counts and query text only (never time): no query of these pages reads the whole table
(``SELECT DISTINCT`` for filter choices or dates, an unbounded ``COUNT(*)``, ``MIN``/``MAX``),
and the pages stay exact and complete on small tables.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.admin.templatetags.admin_list import date_hierarchy as django_date_hierarchy
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from videos.admin.assets import VideoAssetAdmin
from videos.admin.images import ReferenceImageAdmin
from videos.admin.large_tables import LargeTablePaginator
from videos.admin.webhooks import WebhookEventAdmin
from videos.models import AssetVariant, ReferenceImage, VideoAsset, VideoJob, WebhookEvent

from ..profile_checks import queued_calls
from .conftest import make_job
from .test_changelists import bulk_jobs
from .test_large_tables import assert_no_scans

pytestmark = pytest.mark.django_db

TABLES = {
    "videoasset": "sora_videos_videoasset",
    "webhookevent": "sora_videos_webhookevent",
    "referenceimage": "sora_videos_referenceimage",
}
MODELS = {"videoasset": VideoAsset, "webhookevent": WebhookEvent, "referenceimage": ReferenceImage}
ADMINS = {"videoasset": VideoAssetAdmin, "webhookevent": WebhookEventAdmin, "referenceimage": ReferenceImageAdmin}
DATE_FIELD = {"videoasset": "created_at", "webhookevent": "received_at", "referenceimage": "created_at"}
PLURAL = {"videoasset": "video assets", "webhookevent": "webhook events", "referenceimage": "reference images"}


def url_of(model: str) -> str:
    return reverse(f"admin:sora_videos_{model}_changelist")


def add_rows(model: str, n: int, owner: Any) -> None:
    """``n`` rows of ``model`` (for assets: n jobs, 3n assets), written in bulk."""
    if model == "videoasset":
        bulk_jobs(n, owner)
        return
    start = (WebhookEvent if model == "webhookevent" else ReferenceImage).objects.count()
    if model == "webhookevent":
        WebhookEvent.objects.bulk_create([
            WebhookEvent(provider="emu", event_id=f"evt_{i}", type=("video.completed", "video.failed")[i % 2],
                         video_id=f"video_{i:05d}", payload={"id": i},
                         outcome=(WebhookEvent.Outcome.PROCESSED, WebhookEvent.Outcome.FAILED)[i % 2])
            for i in range(start, start + n)])
    else:
        ReferenceImage.objects.bulk_create([
            ReferenceImage(image=f"sora/references/{i}.png", original_name=f"kite-{i}.png", width=640, height=480,
                           format=("PNG", "JPEG")[i % 2], sha256=f"{i:064d}", owner=owner)
            for i in range(start, start + n)])


def table_queries(client: Any, model: str, query: str = "") -> tuple[list[str], Any]:
    """The SQL of the page's queries that read the model's table, and the response."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url_of(model) + query)
    assert response.status_code == 200, response.status_code
    return [q["sql"] for q in ctx.captured_queries if TABLES[model] in q["sql"]], response


YEAR = dt.date.today().year
PAGES = {
    "videoasset": ["", "?variant__exact=thumbnail", "?derived__exact=0", "?content_type=x/y", "?q=kite",
                   "?q=" + "0" * 64, "?o=3", "?o=-2", f"?created_at__year={YEAR}",
                   f"?created_at__year={YEAR}&variant__exact=video"],
    "webhookevent": ["", "?outcome__exact=failed", "?type=video.completed", "?provider=emu", "?q=video_00001",
                     "?o=4", f"?received_at__year={YEAR}", f"?received_at__year={YEAR}&outcome__exact=failed"],
    "referenceimage": ["", "?format=PNG", "?owner__id__exact={owner}", "?q=kite", "?o=6", "?o=-2",
                       f"?created_at__year={YEAR}"],
}


@pytest.mark.parametrize("model", list(TABLES))
def test_changelist_queries_read_no_whole_table(sora, op, operator, model):
    add_rows(model, 60, operator)
    op.get(url_of(model))
    for query in PAGES[model]:
        sqls, response = table_queries(op, model, query.format(owner=operator.pk))
        assert sqls, query
        assert_no_scans(sqls)
        assert response.context["cl"].result_list, query


@pytest.mark.parametrize("model", list(TABLES))
def test_default_order_is_newest_first_on_the_date_index(sora, op, operator, model):
    add_rows(model, 5, operator)
    sqls, response = table_queries(op, model)
    column = f'"{TABLES[model]}"."{DATE_FIELD[model]}" DESC'
    page = [sql for sql in sqls if sql.startswith(f'SELECT "{TABLES[model]}"."id"') and "ORDER BY" in sql]
    assert page and all(sql.split("ORDER BY", 1)[1].lstrip().startswith(column) for sql in page), page
    assert all("sora_videos_videojob" not in sql.split("ORDER BY", 1)[1] for sql in page)  # not the job's ordering
    rows = response.context["cl"].result_list
    dates = [getattr(row, DATE_FIELD[model]) for row in rows]
    assert dates == sorted(dates, reverse=True)
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, TABLES[model])
    assert any(info["index"] and info["columns"] == [DATE_FIELD[model]] and not name.endswith("unhashed")
               for name, info in indexes.items()), indexes


@pytest.mark.parametrize("model", list(TABLES))
def test_queries_do_not_grow_with_rows(sora, op, operator, model):
    add_rows(model, 10, operator)
    queries = ["", f"?{DATE_FIELD[model]}__year={YEAR}", PAGES[model][1]]
    small = {}
    for query in queries:
        op.get(url_of(model) + query)
        with CaptureQueriesContext(connection) as ctx:
            op.get(url_of(model) + query)
        small[query] = len(ctx.captured_queries)
    add_rows(model, 200, operator)
    for query in queries:
        with CaptureQueriesContext(connection) as ctx:
            op.get(url_of(model) + query)
        assert len(ctx.captured_queries) == small[query], query


@pytest.mark.parametrize("model", list(TABLES))
def test_small_tables_count_exactly(sora, op, operator, model):
    add_rows(model, 3, operator)
    total = 9 if model == "videoasset" else 3
    response = op.get(url_of(model))
    cl = response.context["cl"]
    assert (cl.result_count, cl.paginator.exact, cl.paginator.count_label) == (total, True, str(total))
    html = response.content.decode()
    assert f"{total} {PLURAL[model]}" in html
    response = op.get(url_of(model) + PAGES[model][1])
    assert response.context["cl"].paginator.exact
    assert response.context["cl"].result_count == {"videoasset": 3, "webhookevent": 1, "referenceimage": 2}[model]


@pytest.fixture
def small_cap(monkeypatch: Any) -> None:
    """A cap of 15 rows and pages of 10, so a few dozen rows are a "large" table."""
    monkeypatch.setattr(LargeTablePaginator, "exact_up_to", 15)
    for admin_class in ADMINS.values():
        monkeypatch.setattr(admin_class, "list_per_page", 10)


@pytest.mark.parametrize("model", list(TABLES))
def test_past_the_cap_says_more_than(sora, op, operator, small_cap, model):
    add_rows(model, 40, operator)  # assets: 120 rows
    response = op.get(url_of(model) + "?q=kite" if model != "webhookevent" else url_of(model) + "?q=video_")
    cl = response.context["cl"]
    assert (cl.paginator.exact, cl.paginator.estimated, cl.result_count) == (False, False, 16)
    html = response.content.decode()
    assert f"more than 15 {PLURAL[model]}" in html
    assert "more than 15 results" in html
    if model != "videoasset":  # the asset admin has no actions
        assert f"Select all {PLURAL[model]} (more than 15)" in html
        assert response.context["selection_note_all"] == f"All {PLURAL[model]} selected (more than 15)"


@pytest.mark.parametrize("model", list(TABLES))
def test_past_the_cap_the_whole_table(sora, op, operator, small_cap, model):
    """On PostgreSQL, the planner's estimate (after ANALYZE); elsewhere, a lower bound."""
    add_rows(model, 40, operator)
    total = 120 if model == "videoasset" else 40
    op.get(url_of(model))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {TABLES[model]}")
    with CaptureQueriesContext(connection) as ctx:
        response = op.get(url_of(model))
    cl = response.context["cl"]
    html = response.content.decode()
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(*)" in q["sql"].upper() or "reltuples" in q["sql"]]
    if connection.vendor == "postgresql":
        assert (cl.paginator.estimated, cl.result_count) == (True, total)
        assert f"about {total} {PLURAL[model]}" in html
        assert len(counts) == 2 and "reltuples" in counts[1]
    else:
        assert (cl.paginator.estimated, cl.result_count) == (False, 16)
        assert f"more than 15 {PLURAL[model]}" in html
        assert len(counts) == 1
    assert "LIMIT 16" in counts[0]


@pytest.mark.parametrize("model", list(TABLES))
def test_past_the_cap_every_page_is_reachable(sora, op, operator, small_cap, model):
    add_rows(model, 12 if model == "videoasset" else 35, operator)  # 36 or 35 rows: 4 pages
    seen = []
    for page in range(1, 5):
        response = op.get(url_of(model) + f"?p={page}")
        seen += [row.pk for row in response.context["cl"].result_list]
    field = DATE_FIELD[model]
    expected = list(MODELS[model].objects.order_by(f"-{field}", "-id").values_list("pk", flat=True))
    assert seen == expected
    past_the_end = op.get(url_of(model) + "?p=5")
    assert past_the_end.status_code == 302 and past_the_end["Location"].endswith("?e=1")


# --- date hierarchy ------------------------------------------------------------------------------------
def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.timezone.utc)


MOMENTS = [at(2021, 6, 1, 12), at(2023, 3, 5, 9), at(2023, 3, 5, 23, 30), at(2023, 3, 6, 0, 30),
           at(2023, 3, 31, 23, 59), at(2023, 11, 1, 0, 0), at(2024, 1, 1, 3, 0)]


@pytest.fixture
def dated_rows(sora: Any, operator: Any) -> None:
    """Rows of each model in 2021 and 2023 (none in 2022), two months of 2023, days either side of
    midnight UTC (auto_now_add dates, so set with an update)."""
    for i, moment in enumerate(MOMENTS):
        job = make_job(created_at=moment, remote_id=f"video_{i}")
        asset = VideoAsset.objects.create(job=job, variant=(AssetVariant.VIDEO, AssetVariant.THUMBNAIL)[i % 2],
                                          file=f"sora/jobs/{i}.mp4", bytes=10, content_type="video/mp4")
        outcome = (WebhookEvent.Outcome.PROCESSED, WebhookEvent.Outcome.FAILED)[i % 2]
        event = WebhookEvent.objects.create(provider="emu", event_id=f"evt_{i}", type="video.completed",
                                            video_id=f"video_{i}", payload={}, outcome=outcome)
        ref = ReferenceImage.objects.create(image=f"sora/references/{i}.png", original_name=f"paper-{i}.png",
                                            width=640, height=480, format=("PNG", "JPEG")[i % 2],
                                            sha256=f"{i:064d}", owner=operator)
        VideoAsset.objects.filter(pk=asset.pk).update(created_at=moment)
        WebhookEvent.objects.filter(pk=event.pk).update(received_at=moment)
        ReferenceImage.objects.filter(pk=ref.pk).update(created_at=moment)


def hierarchy_urls(model: str) -> list[str]:
    f = DATE_FIELD[model]
    narrow = {"videoasset": "variant__exact=thumbnail", "webhookevent": "outcome__exact=failed",
              "referenceimage": "format=JPEG"}[model]
    return ["", f"?{narrow}", f"?{f}__year=2023", f"?{f}__year=2022", f"?{f}__year=2023&{narrow}",
            f"?{f}__year=2023&{f}__month=3", f"?{f}__year=2023&{f}__month=3&{f}__day=5", "?q=nothing-matches",
            f"?{f}__month=3"]


@pytest.mark.parametrize("time_zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("model", list(TABLES))
def test_date_hierarchy_links_are_djangos(dated_rows, op, settings, time_zone, model):
    """The same links as Django's own date_hierarchy (which reads every row), at every level."""
    settings.TIME_ZONE = time_zone
    for query in hierarchy_urls(model):
        sqls, response = table_queries(op, model, query)
        assert_no_scans(sqls)
        cl = response.context["cl"]
        assert cl.date_hierarchy_links() == django_date_hierarchy(cl), query
        html = response.content.decode()
        for choice in cl.date_hierarchy_links()["choices"]:
            if "link" in choice:
                assert f'<a href="{choice["link"]}">{choice["title"]}</a>'.replace("&", "&amp;") in html, query


# --- filters, sorting, actions ---------------------------------------------------------------------------
def choices_of(response: Any) -> dict[str, list[str]]:
    return {spec.title: [value for value, _label in getattr(spec, "lookup_choices", [])]
            for spec in response.context["cl"].filter_specs}


def test_filter_choices_come_from_the_configuration(sora, op, operator):
    job = make_job(remote_id="video_old")
    VideoAsset.objects.create(job=job, variant=AssetVariant.VIDEO, file="sora/jobs/a.mp4", content_type="video/old")
    WebhookEvent.objects.create(provider="retired", event_id="evt_1", type="video.queued", video_id="v1", payload={})
    ReferenceImage.objects.create(image="sora/references/a.gif", width=1, height=1, format="GIF", sha256="1" * 64)

    sqls, response = table_queries(op, "videoasset")
    assert_no_scans(sqls)
    assert choices_of(response)["content type"] == ["image/jpeg", "image/webp", "video/mp4"]
    response = op.get(url_of("videoasset") + "?content_type=video/old")  # no longer stored, still filters
    assert [a.content_type for a in response.context["cl"].result_list] == ["video/old"]
    assert "video/old" in choices_of(response)["content type"]

    sqls, response = table_queries(op, "webhookevent")
    assert_no_scans(sqls)
    choices = choices_of(response)
    assert choices["type"] == ["video.completed", "video.failed"] and choices["provider"] == ["emu"]
    assert [e.type for e in op.get(url_of("webhookevent") + "?type=video.queued").context["cl"].result_list] \
        == ["video.queued"]
    assert [e.provider for e in op.get(url_of("webhookevent") + "?provider=retired").context["cl"].result_list] \
        == ["retired"]

    sqls, response = table_queries(op, "referenceimage")
    assert_no_scans(sqls)
    assert choices_of(response)["format"] == ["JPEG", "PNG", "WEBP"]
    assert [r.format for r in op.get(url_of("referenceimage") + "?format=GIF").context["cl"].result_list] == ["GIF"]


def test_facet_counts(sora, op, operator):
    add_rows("webhookevent", 3, operator)  # 2 completed, 1 failed
    html = op.get(url_of("webhookevent") + "?_facets=True").content.decode()
    assert "video.completed (2)" in html and "video.failed (1)" in html and "emu" in html


def test_asset_sort_by_job_reads_the_job_index(sora, op, operator):
    old, new = make_job(remote_id="video_a"), make_job(remote_id="video_b")
    for job in (old, new):
        for variant in (AssetVariant.VIDEO, AssetVariant.THUMBNAIL):
            VideoAsset.objects.create(job=job, variant=variant, file=f"sora/jobs/{job.pk}/{variant}",
                                      content_type="video/mp4")
    column = list(VideoAssetAdmin.list_display).index("job_link")  # no actions: no checkbox column
    sqls, response = table_queries(op, "videoasset", f"?o={column}")
    assert [a.job_id for a in response.context["cl"].result_list] == [old.pk, old.pk, new.pk, new.pk]
    rows = response.context["cl"].result_list
    assert rows[0].created_at >= rows[1].created_at  # newest first within a job
    page = [sql for sql in sqls if sql.startswith('SELECT "sora_videos_videoasset"."id"') and "ORDER BY" in sql]
    assert page and page[0].split("ORDER BY", 1)[1].lstrip().startswith('"sora_videos_videoasset"."job_id" ASC')
    sqls, response = table_queries(op, "videoasset", f"?o=-{column}")
    assert [a.job_id for a in response.context["cl"].result_list] == [new.pk, new.pk, old.pk, old.pk]


def test_reference_image_job_counts_and_sort(sora, op, operator):
    add_rows("referenceimage", 3, operator)
    refs = list(ReferenceImage.objects.order_by("pk"))
    for _ in range(2):
        make_job(reference_image=refs[1])
    make_job(reference_image=refs[2])
    make_job()
    sqls, response = table_queries(op, "referenceimage")
    assert all('JOIN "sora_videos_videojob"' not in sql for sql in sqls)  # a count per listed image, not a join
    counts = {r.pk: r.job_total for r in response.context["cl"].result_list}
    assert counts == {refs[0].pk: 0, refs[1].pk: 2, refs[2].pk: 1}
    column = list(ReferenceImageAdmin.list_display).index("job_count") + 1
    response = op.get(url_of("referenceimage") + f"?o=-{column}")
    assert [r.pk for r in response.context["cl"].result_list] == [refs[1].pk, refs[2].pk, refs[0].pk]
    response = op.get(url_of("referenceimage") + "?q=kite-1")
    assert [r.pk for r in response.context["cl"].result_list] == [refs[1].pk]


def test_process_again_across_all_pages_past_the_cap(sora, op, operator, small_cap,
                                                    django_capture_on_commit_callbacks):
    add_rows("webhookevent", 40, operator)  # 20 failed
    first = WebhookEvent.objects.filter(outcome=WebhookEvent.Outcome.FAILED).order_by("-received_at", "-id").first()
    with django_capture_on_commit_callbacks(execute=True):  # tasks are queued once the action commits
        response = op.post(url_of("webhookevent") + "?outcome__exact=failed",  # the page's boxes, "select all"
                           {"action": "process_again", "select_across": "1", "index": "0",
                            "_selected_action": [first.pk]})
    assert response.status_code == 302
    failed = set(WebhookEvent.objects.filter(type="video.failed").values_list("pk", flat=True))
    queued = [args[0] for func, args in queued_calls() if func == "videos.tasks.process_webhook"]
    assert sorted(queued) == sorted(failed) and len(failed) == 20
    assert not WebhookEvent.objects.filter(outcome=WebhookEvent.Outcome.FAILED).exists()


def test_job_admin_is_unchanged(sora, op, operator):
    """The job changelist still uses the shared helpers as before."""
    bulk_jobs(3, operator)
    response = op.get(url_of("videojob"))
    cl = response.context["cl"]
    assert isinstance(cl.paginator, LargeTablePaginator) and cl.result_count == 3
    assert [job.pk for job in cl.result_list] == list(VideoJob.objects.values_list("pk", flat=True))
