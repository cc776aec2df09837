"""Changelists: filters, search, and a constant number of queries however many rows."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from videos.models import AssetVariant, JobStatus, Prompt, ReferenceImage, VideoAsset, VideoJob, WebhookEvent

from .conftest import make_job

pytestmark = pytest.mark.django_db


def bulk_jobs(n: int, owner: Any) -> None:
    """``n`` jobs in several states with their three assets, written in bulk."""
    first = VideoJob.objects.count()
    statuses = [JobStatus.COMPLETED, JobStatus.IN_PROGRESS, JobStatus.FAILED]
    jobs = VideoJob.objects.bulk_create([
        VideoJob(provider="emu", model=("sora-2", "sora-2-pro")[i % 2], size=("1280x720", "720x1280")[i % 2],
                 seconds=4, prompt_text=f"Job number {i}: a kite over a park", status=statuses[i % 3],
                 remote_id=f"video_{i:05d}", estimated_cost=Decimal("0.40"), owner=owner, progress=i % 100)
        for i in range(first, first + n)
    ])
    VideoAsset.objects.bulk_create([
        VideoAsset(job=job, variant=variant, file=f"sora/jobs/{job.uuid}/{variant}", bytes=1000, sha256="0" * 64,
                   content_type="x/y")
        for job in jobs for variant in (AssetVariant.VIDEO, AssetVariant.THUMBNAIL, AssetVariant.SPRITESHEET)
    ])


def count_queries(client: Any, url: str) -> tuple[int, Any]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), response


@pytest.mark.parametrize("query", ["", "?status__exact=completed&o=-7", "?q=kite&model=sora-2"])
def test_job_changelist_queries_do_not_grow_with_rows(sora, op, operator, query):
    url = reverse("admin:sora_videos_videojob_changelist") + query
    bulk_jobs(10, operator)
    op.get(url)  # warm up: session, content types
    small, response = count_queries(op, url)
    assert response.content.decode().count('class="sora-thumb"') >= 3
    bulk_jobs(490, operator)
    large, response = count_queries(op, url)
    assert small == large, (small, large)
    assert len(response.context["cl"].result_list) == 50
    assert large <= 12


def test_job_changelist_shows_thumbnails_from_assets(sora, op, operator):
    bulk_jobs(3, operator)
    html = op.get(reverse("admin:sora_videos_videojob_changelist")).content.decode()
    for asset in VideoAsset.objects.filter(variant=AssetVariant.THUMBNAIL):
        assert reverse("videos:asset", args=[asset.pk]) in html
    for asset in VideoAsset.objects.exclude(variant=AssetVariant.THUMBNAIL):
        assert reverse("videos:asset", args=[asset.pk]) + '"' not in html


def test_job_changelist_filters_and_search(sora, op, operator):
    make_job(prompt_text="A lighthouse at dusk", remote_id="video_lighthouse", status=JobStatus.COMPLETED)
    make_job(prompt_text="A kite over a park", model="sora-2-pro", size="1792x1024")
    url = reverse("admin:sora_videos_videojob_changelist")

    def titles(query: str) -> list[str]:
        return [job.prompt_text for job in op.get(url + query).context["cl"].result_list]

    assert titles("?q=lighthouse") == ["A lighthouse at dusk"]
    assert titles("?q=video_lighthouse") == ["A lighthouse at dusk"]
    assert titles("?status__exact=completed") == ["A lighthouse at dusk"]
    assert titles("?model=sora-2-pro") == ["A kite over a park"]
    assert titles("?size=1792x1024") == ["A kite over a park"]
    assert titles("?provider=emu") == ["A kite over a park", "A lighthouse at dusk"]
    html = op.get(url).content.decode()
    for heading in ("By status", "By kind", "By provider", "By model", "By size", "By owner", "By created at"):
        assert heading in html


@pytest.mark.parametrize("model", ["prompt", "referenceimage", "videoasset", "webhookevent"])
def test_other_changelists_queries_do_not_grow(sora, op, operator, model):
    url = reverse(f"admin:sora_videos_{model}_changelist")

    def add(n: int, start: int) -> None:
        if model == "prompt":
            Prompt.objects.bulk_create([Prompt(title=f"P{i}", text="A kite", owner=operator)
                                        for i in range(start, start + n)])
        elif model == "referenceimage":
            ReferenceImage.objects.bulk_create([
                ReferenceImage(image=f"sora/references/{i}.png", width=640, height=480, format="PNG",
                               sha256=f"{i:064d}", owner=operator) for i in range(start, start + n)])
        elif model == "videoasset":
            bulk_jobs(n, operator)
        else:
            WebhookEvent.objects.bulk_create([
                WebhookEvent(provider="emu", event_id=f"evt_{i}", type="video.completed", video_id=f"video_{i}",
                             payload={"id": i}) for i in range(start, start + n)])

    add(5, 0)
    op.get(url)
    small, _ = count_queries(op, url)
    add(150, 5)
    large, response = count_queries(op, url)
    assert small == large, (small, large)
