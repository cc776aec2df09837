"""Review of finished videos: verdict, ratings, comments, tags, favourites and collections, and
the gallery's filters by each (kept across pages)."""
from __future__ import annotations

import re

import pytest
from django.urls import reverse

from videos import review, roles
from videos.models import Comment, JobStatus, ReviewStatus

from .test_studio import member_of

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def people(sora, real_job):
    return {"mia": member_of(roles.MAKERS, "mia"), "rex": member_of(roles.REVIEWERS, "rex"),
            "vic": member_of(roles.VIEWERS, "vic")}


def _post(client, job, what, **data):
    return client.post(reverse("videos:review", args=[job.uuid, what]), data, follow=True).content.decode()


def test_a_reviewer_gives_the_verdict_and_everyone_rates_comments_and_tags(people, real_job):
    mia, rex, vic = people["mia"], people["rex"], people["vic"]
    page = _post(vic, real_job, "verdict", review_status="approved")
    assert "Only a reviewer or a video manager gives a video its verdict." in page
    _post(rex, real_job, "verdict", review_status="approved")
    real_job.refresh_from_db()
    assert (real_job.review_status, real_job.reviewed_by) == (ReviewStatus.APPROVED, rex.user)
    _post(mia, real_job, "rate", stars="5")
    page = _post(vic, real_job, "rate", stars="2")
    assert "average is 3.5" in page
    _post(vic, real_job, "rate", stars="4")  # a change, not a second vote
    real_job.refresh_from_db()
    assert real_job.rating == 4.5
    assert "A rating is 1 to 5 stars." in _post(vic, real_job, "rate", stars="9")
    _post(mia, real_job, "comment", text="Lovely light; can we get a 9:16 cut?")
    [comment] = Comment.objects.all()
    assert comment.author == mia.user
    assert "Only its author edits or deletes a comment." in vic.post(
        reverse("videos:comment", args=[comment.pk, "delete"]), follow=True).content.decode()
    mia.post(reverse("videos:comment", args=[comment.pk, "edit"]), {"text": "Lovely light."})
    comment.refresh_from_db()
    assert comment.text == "Lovely light." and comment.edited_at is not None
    _post(vic, real_job, "tags", tags="Teaser, winter campaign, teaser, ")
    assert sorted(real_job.tags.names()) == ["Teaser", "winter campaign"]
    page = vic.get(reverse("videos:detail", args=[real_job.uuid])).content.decode()
    assert "Approved for use" in page and "Lovely light." in page and "4.5 from 2 ratings" in page
    assert 'value="Teaser, winter campaign"' in page
    mia.post(reverse("videos:comment", args=[comment.pk, "delete"]))
    assert not Comment.objects.exists()


def test_the_gallery_filters_by_review_rating_tag_collection_and_favourites(people, real_job, clone_jobs):
    vic, rex = people["vic"], people["rex"]
    clips = clone_jobs(real_job, 30, prompt_text=lambda i: f"Clip {i}")
    for clip in clips[:26]:
        review.set_tags(clip, vic.user, "teaser")
        review.collect(clip, vic.user, "Winter campaign")
        review.toggle_favourite(clip, vic.user)
        review.rate(clip, vic.user, 5)
        review.set_verdict(clip, rex.user, ReviewStatus.CHANGES)
    url = reverse("videos:gallery")

    def uuids(**params):
        html = vic.get(url, params).content.decode()
        return html, {c for c in (str(j.uuid) for j in clips + [real_job]) if f'data-job="{c}"' in html}

    collection = review.collect(clips[0], vic.user, "Winter campaign")
    params = {"tag": "TEASER", "collection": collection.pk, "favourites": "on", "rating": "5", "review": "changes"}
    html, first = uuids(**params)
    assert len(first) == 24  # a full page
    assert "Filtered by 5 conditions" in html
    [after] = re.findall(r'href="\?([^"]*after=[^"]*)"', html)
    assert all(f"{k}=" in after for k in params)  # the filters survive the next page
    html, second = uuids(**dict(p.split("=", 1) for p in after.replace("&amp;", "&").split("&")))
    assert len(second) == 2 and not first & second
    html, unreviewed = uuids(review="unreviewed")
    expected = {str(j.uuid) for j in clips[26:] + [real_job]}
    assert unreviewed == expected
    assert uuids(tag="nothing")[1] == set()
    favourites = uuids(favourites="on")[1]
    assert len(favourites) == 24 and favourites <= {str(c.uuid) for c in clips[:26]}  # one page of the 26
    assert people["mia"].get(url, {"favourites": "on"}).content.decode().count('data-job="') == 0  # yours only


def test_only_finished_videos_are_reviewed(people, real_job, clone_jobs):
    [working] = clone_jobs(real_job, 1, status=JobStatus.IN_PROGRESS)
    assert "Only a finished video can be reviewed." in _post(people["rex"], working, "verdict",
                                                             review_status="approved")
    page = people["vic"].get(reverse("videos:detail", args=[working.uuid])).content.decode()
    assert 'id="review"' not in page
