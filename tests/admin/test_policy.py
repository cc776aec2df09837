"""One rule per action (videos.policy): the services, the admin and the gallery agree with it.

Every action is tried on a job in every state the rule tells apart: the service refuses
exactly when the policy gives a refusal (with its typed code), the admin shows the button
exactly when the policy allows it, and so does the gallery's page (every action it offers).
"""
from __future__ import annotations

import pytest
from django.urls import reverse

from videos import policy, services, sharing
from videos.exceptions import SoraVideosError
from videos.models import JobError, JobStatus
from videos.policy import Action
from videos.views.actions import ACTIONS

from .conftest import make_job

pytestmark = pytest.mark.django_db

STATES = [
    (JobStatus.DRAFT, "", ""),
    (JobStatus.AWAITING_APPROVAL, "", ""),
    (JobStatus.PENDING, "", ""),
    (JobStatus.SUBMITTING, "", ""),
    (JobStatus.QUEUED, "video_q", ""),
    (JobStatus.IN_PROGRESS, "video_p", ""),
    (JobStatus.DOWNLOADING, "video_d", ""),
    (JobStatus.COMPLETED, "video_c", ""),
    (JobStatus.FAILED, "video_f", "moderation_blocked"),
    (JobStatus.FAILED, "video_e", "content_expired"),
    (JobStatus.FAILED, "video_g", JobError.FORGOTTEN),
    (JobStatus.NEEDS_ATTENTION, "video_n", "download_failed"),
    (JobStatus.NEEDS_ATTENTION, "", "create_unconfirmed"),
    (JobStatus.DELETED, "video_x", ""),
]
BUTTONS = {Action.SUBMIT: "submit_jobs", Action.REFRESH: "refresh_jobs", Action.REMIX: "remix_jobs",
           Action.EDIT: "edit_jobs", Action.EXTEND: "extend_jobs", Action.RESUBMIT: "resubmit_jobs",
           Action.RETRY_DOWNLOAD: "retry_download_jobs", Action.APPROVE: "approve_jobs",
           Action.REJECT: "reject_jobs"}


def _call(action: str, job) -> None:
    {
        Action.SUBMIT: lambda: services.submit(job),
        Action.REMIX: lambda: services.remix(job, "At night"),
        Action.EDIT: lambda: services.edit(job, "With snow"),
        Action.EXTEND: lambda: services.extend(job, "Then dusk", seconds=4),
        Action.RESUBMIT: lambda: services.resubmit(job),
        Action.REFRESH: lambda: services.refresh(job),
        Action.RETRY_DOWNLOAD: lambda: services.retry_download(job),
        Action.DELETE: lambda: services.delete(job),
        Action.APPROVE: lambda: services.approve(job),
        Action.REJECT: lambda: services.reject(job, "Too long"),
        Action.SHARE: lambda: sharing.create(job),
    }[action]()


@pytest.mark.parametrize("state", STATES, ids=lambda s: f"{s[0]}-{s[2] or 'plain'}")
def test_service_admin_and_gallery_agree_with_the_policy(sora, op, state):
    status, remote_id, error_code = state
    job = make_job(status=status, remote_id=remote_id or None, error_code=error_code)
    expected = {action: policy.refusal(action, job) for action in Action}
    change = op.get(reverse("admin:sora_videos_videojob_change", args=[job.pk])).content.decode()
    for action, button in BUTTONS.items():
        assert (f'value="{button}"' in change) == (expected[action] is None), (action, status, error_code)
    assert ("Delete…</a>" in change) == (expected[Action.DELETE] is None), change.count("Delete")
    if status not in (JobStatus.DRAFT, JobStatus.DELETED):  # the gallery's page of the video (an operator's view)
        page = op.get(reverse("videos:detail", args=[job.uuid])).content.decode()
        for slug, (action, *_) in ACTIONS.items():
            link = f'href="{reverse("videos:act", args=[job.uuid, slug])}"'
            assert (link in page) == (expected[action] is None), (slug, status, error_code)
    for action in Action:
        fresh = type(job).objects.get(pk=job.pk)
        if expected[action] is None:
            continue  # allowed: covered by each action's own tests (it would spend or call out)
        if action == Action.DELETE and status == JobStatus.DELETED:
            assert _call(action, fresh) is None  # deleting twice is a no-op for callers (idempotent), no button
            continue
        with pytest.raises(SoraVideosError) as refused:
            _call(action, fresh)
        assert refused.value.refusal == expected[action], action


def test_refusals_are_typed_not_matched_by_text(sora):
    job = make_job(status=JobStatus.PENDING)
    found = policy.refusal(Action.REMIX, job)
    assert (found.code, found.action) == (policy.RefusalCode.WRONG_STATE, Action.REMIX)
    draft = make_job(status=JobStatus.DRAFT)
    assert policy.refusal(Action.SUBMIT, draft) is None
