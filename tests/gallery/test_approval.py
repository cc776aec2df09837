"""Approval before spend: above APPROVAL_ABOVE a job waits, reserved and unsent, until a reviewer
decides; from the gallery, the admin and the CLI; exactly once even when reviewers race."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from videos import budgets, policy, roles, sequences, services
from videos.exceptions import JobStateError, NotPermitted
from videos.models import JobError, JobStatus, VideoJob

from ..support import settle
from .test_studio import _make, member_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def strict(sora, settings):
    """Anything over 0.50 USD waits for a reviewer; makers have 5.00 USD a month."""
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "APPROVAL_ABOVE": "0.50", "USER_MONTHLY_BUDGET": "5.00"}
    return sora


@pytest.fixture
def maker(strict):
    return member_of(roles.MAKERS, "mia", email="mia@example.com")


@pytest.fixture
def reviewer(strict):
    return member_of(roles.REVIEWERS, "rex")


def test_an_expensive_video_waits_reserved_and_unsent_until_a_reviewer_approves_it(maker, reviewer, strict):
    cheap = _make(maker, seconds="4")  # 0.40: under the threshold, made at once
    assert VideoJob.objects.get(uuid=cheap["Location"].split("/")[-2]).status == JobStatus.PENDING
    response = _make(maker, seconds="8")  # 0.80: waits
    job = VideoJob.objects.get(uuid=response["Location"].split("/")[-2])
    assert job.status == JobStatus.AWAITING_APPROVAL
    assert "waits for a reviewer's approval: it would cost 0.80 USD, more than the 0.50" in \
        job.events.get().message
    assert budgets.spendable(maker.user) == Decimal("3.80")  # reserved: 5.00 - 0.40 - 0.80
    [cheap_job] = settle([VideoJob.objects.get(uuid=cheap["Location"].split("/")[-2])])
    assert strict.stats()["requests"]["create"] == 1  # the cheap one only
    assert VideoJob.objects.get(pk=job.pk).status == JobStatus.AWAITING_APPROVAL

    page = maker.get(reverse("videos:detail", args=[job.uuid])).content.decode()
    assert "Awaiting approval" in page and "Approve…" not in page  # the maker may not approve it
    assert maker.post(reverse("videos:act", args=[job.uuid, "approve"])).status_code == 403
    card = reviewer.get(reverse("videos:gallery")).content.decode()
    assert "Awaiting approval" in card
    page = reviewer.get(reverse("videos:detail", args=[job.uuid])).content.decode()
    assert reverse("videos:act", args=[job.uuid, "approve"]) in page
    confirm = reviewer.get(reverse("videos:act", args=[job.uuid, "approve"])).content.decode()
    assert "It costs <strong>0.80 USD</strong>" in confirm and "mia" in confirm
    reviewer.post(reverse("videos:act", args=[job.uuid, "approve"]))
    job.refresh_from_db()
    assert job.status == JobStatus.PENDING
    assert mail.outbox[-1].to == ["mia@example.com"] and "approved" in mail.outbox[-1].body
    with pytest.raises(JobStateError):  # a second decision changes nothing
        services.approve(VideoJob.objects.get(pk=job.pk), user=reviewer.user)
    [done] = settle([job])
    assert done.status == JobStatus.COMPLETED and strict.stats()["requests"]["create"] == 2


def test_a_rejection_frees_the_budget_and_tells_the_maker_why(maker, reviewer, strict):
    job = VideoJob.objects.get(uuid=_make(maker, seconds="8")["Location"].split("/")[-2])
    assert reviewer.post(reverse("videos:act", args=[job.uuid, "reject"]), {"reason": ""}).status_code == 200
    assert VideoJob.objects.get(pk=job.pk).status == JobStatus.AWAITING_APPROVAL  # a reason is required
    reviewer.post(reverse("videos:act", args=[job.uuid, "reject"]), {"reason": "Use 4 seconds: it is a teaser."})
    job.refresh_from_db()
    assert (job.status, job.error_code) == (JobStatus.FAILED, JobError.REJECTED)
    assert budgets.spendable(maker.user) == Decimal("5.00")
    page = maker.get(reverse("videos:detail", args=[job.uuid])).content.decode()
    assert "A reviewer did not approve this video" in page and "Use 4 seconds: it is a teaser." in page
    assert f"?from={job.uuid}" in page  # change it and try again
    assert "Use 4 seconds" in mail.outbox[-1].body
    assert strict.stats()["requests"]["create"] == 0


def test_who_may_decide(maker, reviewer, strict, django_user_model):
    job = services.create_video("A kite", seconds=8, size="1280x720", provider="emu", user=reviewer.user)
    assert job.status == JobStatus.AWAITING_APPROVAL
    with pytest.raises(NotPermitted, match="cannot approve your own"):
        policy.require_for(reviewer.user, policy.Action.APPROVE, job)
    assert reviewer.post(reverse("videos:act", args=[job.uuid, "approve"])).status_code == 403
    viewer = member_of(roles.VIEWERS, "vic")
    assert viewer.post(reverse("videos:act", args=[job.uuid, "approve"])).status_code == 403
    refused = viewer.get(reverse("videos:act", args=[job.uuid, "approve"])).content.decode()
    assert "Video reviewers" in refused


def test_a_sequence_over_the_threshold_waits_as_a_whole(maker, strict):
    shots = sequences.plan_shots(["A kite rises", "The kite loops"], [])
    sequence = sequences.create_sequence(shots, provider="emu", size="1280x720", seconds=4, user=maker.user)
    assert {s.job.status for s in sequence.shots.select_related("job")} == {JobStatus.AWAITING_APPROVAL}


def test_the_cli_and_the_admin_decide_too(maker, reviewer, strict, capsys, django_user_model):
    one = VideoJob.objects.get(uuid=_make(maker, seconds="8")["Location"].split("/")[-2])
    two = VideoJob.objects.get(uuid=_make(maker, seconds="12")["Location"].split("/")[-2])
    call_command("sora", "approve", str(one.pk), "--user", "rex")
    assert "Approved job" in capsys.readouterr().out
    one.refresh_from_db()
    assert one.status == JobStatus.PENDING and "approved by rex" in one.events.order_by("-at").first().message
    boss = django_user_model.objects.create_superuser("boss", "boss@example.com", "pw")
    admin = Client()
    admin.force_login(boss)
    response = admin.post(reverse("admin:sora_videos_videojob_changelist"), {
        "action": "reject_jobs", "_selected_action": [two.pk], "apply": "1", "reason": "Too long for a teaser."})
    assert response.status_code == 302
    two.refresh_from_db()
    assert two.error_code == JobError.REJECTED and "Too long for a teaser." in two.error_message
    page = admin.get(reverse("admin:sora_videos_videojob_change", args=[one.pk])).content.decode()
    assert 'value="approve_jobs"' not in page  # decided already


def test_a_waiting_sequence_is_approved_or_rejected_as_a_whole(maker, reviewer, strict):
    shots = sequences.plan_shots(["A kite rises", "The kite loops"], [])
    sequence = sequences.create_sequence(shots, provider="emu", size="1280x720", seconds=4, user=maker.user)
    page = reviewer.get(reverse("videos:sequence_detail", args=[sequence.uuid])).content.decode()
    assert "2 shots await approval" in page and "Approve all shots" in page
    makers_page = maker.get(reverse("videos:sequence_detail", args=[sequence.uuid])).content.decode()
    assert "Approve all shots" not in makers_page
    url = reverse("videos:sequence_decide", args=[sequence.uuid])
    assert "Say why" in reviewer.post(url, {"decision": "reject", "reason": ""}, follow=True).content.decode()
    assert {s.job.status for s in sequence.shots.select_related("job")} == {JobStatus.AWAITING_APPROVAL}
    reviewer.post(url, {"decision": "approve"})
    assert {s.job.status for s in sequence.shots.select_related("job")} == {JobStatus.PENDING}
