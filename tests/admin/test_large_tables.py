"""The job changelist on a large table: a bounded count, an indexed date hierarchy, filters without scans.

Query counts and query text only (never time): no query of the page reads the whole job
table (``SELECT DISTINCT`` for filter choices or dates, an unbounded ``COUNT(*)``), and the
page stays exact and complete on small tables.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.admin.templatetags.admin_list import date_hierarchy as django_date_hierarchy
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from videos.admin.jobs import VideoJobAdmin
from videos.admin.large_tables import LargeTablePaginator
from videos.models import JobStatus, VideoJob

from .conftest import make_job
from .test_changelists import bulk_jobs

pytestmark = pytest.mark.django_db

URL = "/admin/sora_videos/videojob/"


def job_queries(client: Any, url: str) -> tuple[list[str], Any]:
    """The SQL of the page's queries that read the job table, and the response."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    return [q["sql"] for q in ctx.captured_queries if "sora_videos_videojob" in q["sql"]], response


def assert_no_scans(sqls: list[str]) -> None:
    for sql in sqls:
        upper = sql.upper()
        assert "DISTINCT" not in upper, sql
        assert "TRUNC" not in upper, sql  # date_hierarchy's dates() over every row
        assert "MIN(" not in upper and "MAX(" not in upper, sql  # one statement with both scans on SQLite
        if upper.startswith("SELECT COUNT(*)"):
            assert "LIMIT" in upper, sql


def test_changelist_queries_read_no_whole_table(sora, op, operator):
    assert reverse("admin:sora_videos_videojob_changelist") == URL
    bulk_jobs(60, operator)
    op.get(URL)
    for query in ("", "?status__exact=completed", "?model=sora-2&size=1280x720", "?q=kite", "?o=3",
                  "?created_at__year=%d" % dt.date.today().year):
        sqls, response = job_queries(op, URL + query)
        assert_no_scans(sqls)
        assert response.context["cl"].result_list


def test_small_tables_count_exactly(sora, op, operator):
    bulk_jobs(3, operator)
    response = op.get(URL)
    cl = response.context["cl"]
    assert (cl.result_count, cl.paginator.exact, cl.paginator.count_label) == (3, True, "3")
    html = response.content.decode()
    assert "3 video jobs" in html
    assert "Select all 3 video jobs" not in html  # one page: nothing to select across pages
    response = op.get(URL + "?status__exact=failed")
    assert response.context["cl"].result_count == 1
    assert "1 video job\n" in response.content.decode()


@pytest.fixture
def small_cap(monkeypatch: Any) -> None:
    """A cap of 15 rows and pages of 10, so a few dozen jobs are a "large" table."""
    monkeypatch.setattr(LargeTablePaginator, "exact_up_to", 15)
    monkeypatch.setattr(VideoJobAdmin, "list_per_page", 10)


def test_past_the_cap_filtered_lists_say_more_than(sora, op, operator, small_cap):
    bulk_jobs(45, operator)  # 15 each of completed, in progress, failed
    response = op.get(URL + "?status__exact=completed")
    cl = response.context["cl"]
    assert (cl.result_count, cl.paginator.exact) == (15, True)  # at the cap: still exact
    response = op.get(URL + "?q=kite")
    cl = response.context["cl"]
    assert (cl.paginator.exact, cl.paginator.estimated, cl.result_count) == (False, False, 16)
    html = response.content.decode()
    assert "more than 15 video jobs" in html
    assert "more than 15 results" in html
    assert "Select all video jobs (more than 15)" in html
    assert response.context["selection_note_all"] == "All video jobs selected (more than 15)"


def test_past_the_cap_every_page_is_reachable(sora, op, operator, small_cap):
    bulk_jobs(45, operator)
    seen = []
    for page in range(1, 6):  # 5 pages of 10 rows (the count says 16, so 2 pages)
        response = op.get(URL + f"?q=kite&p={page}")
        seen += [job.pk for job in response.context["cl"].result_list]
    expected = list(VideoJob.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    assert seen == expected
    past_the_end = op.get(URL + "?q=kite&p=6")
    assert past_the_end.status_code == 302 and past_the_end["Location"].endswith("?e=1")  # Django's invalid page


def test_past_the_cap_the_whole_table(sora, op, operator, small_cap):
    """On PostgreSQL, the planner's estimate (after ANALYZE); elsewhere, a lower bound."""
    bulk_jobs(45, operator)
    op.get(URL)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE sora_videos_videojob")
    with CaptureQueriesContext(connection) as ctx:
        response = op.get(URL)
    cl = response.context["cl"]
    html = response.content.decode()
    counts = [q["sql"] for q in ctx.captured_queries if "COUNT(" in q["sql"].upper() or "reltuples" in q["sql"]]
    if connection.vendor == "postgresql":
        assert (cl.paginator.estimated, cl.result_count) == (True, 45)
        assert "about 45 video jobs" in html
        assert len(counts) == 2 and "reltuples" in counts[1]
    else:
        assert (cl.paginator.estimated, cl.result_count) == (False, 16)
        assert "more than 15 video jobs" in html
        assert len(counts) == 1
    assert "LIMIT 16" in counts[0]


def test_estimate_labels_are_rounded():
    paginator = LargeTablePaginator([], 10)
    paginator._counted = (123_456, False, True)
    assert paginator.count_label == "about 120,000"
    paginator = LargeTablePaginator([], 10)
    paginator._counted = (10_001, False, False)
    assert paginator.count_label == "more than 10,000"
    paginator = LargeTablePaginator([], 10)
    paginator._counted = (1_234, True, False)
    assert paginator.count_label == "1,234"


# --- date hierarchy ------------------------------------------------------------------------------------
def at(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.timezone.utc)


@pytest.fixture
def dated_jobs(sora: Any) -> None:
    """Jobs in 2021 and 2023 (none in 2022), two months of 2023, days either side of midnight UTC."""
    for moment, status in [
        (at(2021, 6, 1, 12), JobStatus.COMPLETED),
        (at(2023, 3, 5, 9), JobStatus.COMPLETED),
        (at(2023, 3, 5, 23, 30), JobStatus.FAILED),
        (at(2023, 3, 6, 0, 30), JobStatus.COMPLETED),
        (at(2023, 3, 31, 23, 59), JobStatus.FAILED),
        (at(2023, 11, 1, 0, 0), JobStatus.COMPLETED),
        (at(2024, 1, 1, 3, 0), JobStatus.FAILED),  # still 2023 in New York
    ]:
        make_job(created_at=moment, status=status)


HIERARCHY_URLS = [
    "", "?status__exact=failed", "?status__exact=completed&model=sora-2",
    "?created_at__year=2023", "?created_at__year=2022", "?created_at__year=2023&status__exact=failed",
    "?created_at__year=2023&created_at__month=3", "?created_at__year=2023&created_at__month=3&created_at__day=5",
    "?created_at__year=2023&created_at__month=3&q=paper", "?q=nothing-matches",
    "?created_at__month=3",
]


@pytest.mark.parametrize("time_zone", ["UTC", "America/New_York"])
@pytest.mark.parametrize("query", HIERARCHY_URLS)
def test_date_hierarchy_links_are_djangos(dated_jobs, op, settings, time_zone, query):
    """The same links as Django's own date_hierarchy (which reads every row), at every level."""
    settings.TIME_ZONE = time_zone
    sqls, response = job_queries(op, URL + query)
    assert_no_scans(sqls)
    cl = response.context["cl"]
    assert cl.date_hierarchy_links() == django_date_hierarchy(cl)
    html = response.content.decode()
    for choice in cl.date_hierarchy_links()["choices"]:
        if "link" in choice:
            assert f'<a href="{choice["link"]}">{choice["title"]}</a>'.replace("&", "&amp;") in html


def test_date_hierarchy_skips_empty_years_in_one_query(dated_jobs, op):
    op.get(URL)
    with CaptureQueriesContext(connection) as ctx:
        response = op.get(URL)
    links = response.context["cl"].date_hierarchy_links()
    assert [c["title"] for c in links["choices"]] == ["2021", "2023", "2024"]
    probes = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("SELECT EXISTS")]
    assert len(probes) == 1 and probes[0].count("EXISTS") == 4  # 2021 to 2024


def test_date_hierarchy_queries_do_not_grow_with_rows(sora, op, operator):
    bulk_jobs(10, operator)
    for query in ("", "?created_at__year=%d" % dt.date.today().year):
        op.get(URL + query)
        with CaptureQueriesContext(connection) as ctx:
            op.get(URL + query)
        small = len(ctx.captured_queries)
        bulk_jobs(200, operator)
        with CaptureQueriesContext(connection) as ctx:
            op.get(URL + query)
        assert len(ctx.captured_queries) == small


# --- filters and sorting ---------------------------------------------------------------------------------
def test_model_and_size_choices_come_from_the_configuration(sora, op):
    make_job(model="sora-2", size="1280x720")
    make_job(model="retired-model", size="640x360", prompt_text="An old one")
    sqls, response = job_queries(op, URL)
    assert_no_scans(sqls)
    specs = {spec.title: spec for spec in response.context["cl"].filter_specs}
    models = [value for value, _label in specs["model"].lookup_choices]
    assert "sora-2" in models and "sora-2-pro" in models and "retired-model" not in models
    assert "1280x720" in [value for value, _label in specs["size"].lookup_choices]
    # a value no longer configured still filters, and is shown as the selected choice
    response = op.get(URL + "?model=retired-model")
    assert [job.prompt_text for job in response.context["cl"].result_list] == ["An old one"]
    specs = {spec.title: spec for spec in response.context["cl"].filter_specs}
    assert ("retired-model", "retired-model") in specs["model"].lookup_choices
    assert [c["display"] for c in specs["model"].choices(response.context["cl"]) if c["selected"]] == ["retired-model"]


def test_facet_counts(sora, op):
    make_job(model="sora-2", size="1280x720")
    make_job(model="sora-2", size="720x1280")
    make_job(model="sora-2-pro", size="1792x1024")
    html = op.get(URL + "?_facets=True").content.decode()
    assert "sora-2 (2)" in html and "sora-2-pro (1)" in html
    assert "1792x1024 (1)" in html and "720x1280 (1)" in html


def test_sorting_by_a_column_keeps_newest_first_within_it(sora, op):
    old_done = make_job(status=JobStatus.COMPLETED, created_at=at(2024, 1, 1))
    new_done = make_job(status=JobStatus.COMPLETED, created_at=at(2024, 6, 1))
    failed = make_job(status=JobStatus.FAILED, created_at=at(2024, 3, 1))
    response = op.get(URL + "?o=3")  # the Status column
    assert [job.pk for job in response.context["cl"].result_list] == [new_done.pk, old_done.pk, failed.pk]
    response = op.get(URL + "?o=-3")
    assert [job.pk for job in response.context["cl"].result_list] == [failed.pk, new_done.pk, old_done.pk]
    response = op.get(URL)
    assert [job.pk for job in response.context["cl"].result_list] == [new_done.pk, failed.pk, old_done.pk]
