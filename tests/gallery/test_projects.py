"""Projects: with VISIBILITY = "projects" a member of project A sees none of project B on any
surface (pages, search, media, JSON, sequences, exports, the admin), managers see all; a
project's budget and approval threshold apply to work made in it."""
from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from videos import roles, sequences, services
from videos.exceptions import BudgetExceeded, InvalidRequest
from videos.models import JobStatus, Project, VideoJob

from ..factories import UserFactory
from .test_studio import _make, member_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def world(sora, settings, real_job, clone_jobs):
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "VISIBILITY": "projects"}
    alpha, beta = Project.objects.create(name="Alpha"), Project.objects.create(name="Beta")
    alice = member_of(roles.MAKERS, "alice")
    bob = member_of(roles.MAKERS, "bob")
    beta_team = Group.objects.create(name="Beta team")
    bob.user.groups.add(beta_team)
    alpha.members.add(alice.user)
    beta.member_groups.add(beta_team)
    [a_job] = clone_jobs(real_job, 1, project_id=alpha.pk, prompt_text="Alpha: a lighthouse at dusk")
    [b_job] = clone_jobs(real_job, 1, project_id=beta.pk, prompt_text="Beta: a secret product launch")
    return {"alpha": alpha, "beta": beta, "alice": alice, "bob": bob, "a": a_job, "b": b_job, "free": real_job}


def test_a_member_of_alpha_sees_nothing_of_beta_anywhere(world):
    alice, a_job, b_job = world["alice"], world["a"], world["b"]
    html = alice.get(reverse("videos:gallery")).content.decode()
    assert str(a_job.uuid) in html and str(world["free"].uuid) in html and str(b_job.uuid) not in html
    assert "secret product" not in alice.get(reverse("videos:gallery"), {"q": "secret"}).content.decode()
    for name in ("videos:detail", "videos:export", "videos:job_status"):
        assert alice.get(reverse(name, args=[b_job.uuid])).status_code == 404, name
    for slug in ("remix", "delete"):
        assert alice.get(reverse("videos:act", args=[b_job.uuid, slug])).status_code == 404
    assert alice.post(reverse("videos:share_create", args=[b_job.uuid])).status_code == 404
    assert alice.post(reverse("videos:review", args=[b_job.uuid, "favourite"])).status_code == 404
    status = alice.get(reverse("videos:jobs_status"), {"ids": f"{a_job.uuid},{b_job.uuid}"}).json()
    assert str(b_job.uuid) not in status["jobs"] and str(a_job.uuid) in status["jobs"]
    assert str(b_job.uuid) in status["missing"]  # as if it did not exist
    for asset in b_job.assets.all():  # never a file, never a signed URL
        assert alice.get(reverse("videos:asset", args=[asset.pk])).status_code == 404
    assert alice.get(reverse("videos:asset", args=[a_job.assets.first().pk])).status_code in (200, 302)
    bob = world["bob"]  # a member through a group
    assert str(b_job.uuid) in bob.get(reverse("videos:gallery")).content.decode()


def test_sequences_and_the_admin_are_scoped_too(world, django_user_model):
    shots = sequences.plan_shots(["Beta shot one", "Beta shot two"], [])
    beta_sequence = sequences.create_sequence(shots, provider="emu", size="1280x720", seconds=4,
                                              user=world["bob"].user, project=world["beta"])
    alice = world["alice"]
    assert str(beta_sequence.uuid) not in alice.get(reverse("videos:sequences")).content.decode()
    assert alice.get(reverse("videos:sequence_detail", args=[beta_sequence.uuid])).status_code == 404
    assert alice.get(reverse("videos:sequence_status", args=[beta_sequence.uuid])).status_code == 404
    looker = UserFactory(username="looker", password="pw", is_staff=True, perms=["view_videojob", "view_sequence"])
    world["alpha"].members.add(looker)
    admin = Client()
    admin.force_login(looker)
    changelist = admin.get(reverse("admin:sora_videos_videojob_changelist")).content.decode()
    assert "Alpha: a lighthouse" in changelist and "Beta: a secret" not in changelist
    assert "Beta shot" not in admin.get(reverse("admin:sora_videos_sequence_changelist")).content.decode()


def test_managers_see_everything_and_all_keeps_todays_behaviour(world, settings):
    manager = member_of(roles.MANAGERS, "max")
    assert str(world["b"].uuid) in manager.get(reverse("videos:gallery")).content.decode()
    settings.SORA_VIDEOS = {**settings.SORA_VIDEOS, "VISIBILITY": "all"}
    assert str(world["b"].uuid) in world["alice"].get(reverse("videos:gallery")).content.decode()


def test_work_in_a_project_needs_membership_and_keeps_its_budget_and_threshold(world):
    alice, alpha, beta = world["alice"], world["alpha"], world["beta"]
    page = alice.get(reverse("videos:create")).content.decode()
    assert '<option value="%d">Alpha</option>' % alpha.pk in page and ">Beta<" not in page
    response = _make(alice, project=str(beta.pk))
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    with pytest.raises(InvalidRequest, match="not a member of the project 'Beta'"):
        services.create_video("A kite", seconds=4, size="1280x720", provider="emu", user=alice.user, project=beta)
    alpha.monthly_budget, alpha.approval_above = Decimal("2.00"), Decimal("0.50")  # 0.40 is spent (a_job)
    alpha.save()
    response = _make(alice, project=str(alpha.pk), seconds="8")  # 0.80: within the budget, above 0.50
    assert response.status_code == 302
    job = VideoJob.objects.get(uuid=response["Location"].split("/")[-2])
    assert (job.project, job.status) == (alpha, JobStatus.AWAITING_APPROVAL)
    with pytest.raises(BudgetExceeded, match="the project “Alpha”’s monthly budget is 2.00 USD, 1.20 USD"):
        services.create_video("Another", seconds=12, size="1280x720", provider="emu", project=alpha)
    VideoJob.objects.filter(pk=world["a"].pk).update(remote_id="video_alpha")
    remix_source = VideoJob.objects.get(pk=world["a"].pk)
    remix = services.remix(remix_source, "At night", user=alice.user)
    assert remix.project == alpha  # a remix stays in its project
