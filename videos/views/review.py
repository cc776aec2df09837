"""The review panel of a video's page: verdict, stars, comments, tags, favourite, collections.

Each form posts here and comes back to the page (``#review``) with what happened, or with
the refusal in the person's words; nothing else changes on a refusal.
"""
from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from .. import review
from ..exceptions import SoraVideosError
from ..models import Collection, Comment, VideoJob
from .access import gallery_access, visible_jobs


def _back(job: VideoJob) -> HttpResponse:
    return redirect(reverse("videos:detail", args=[job.uuid]) + "#review")


def _do(request: HttpRequest, job: VideoJob, what: str) -> str:
    data, user = request.POST, request.user
    if what == "verdict":
        review.set_verdict(job, user, data.get("review_status", ""))
        return f"Verdict: {job.get_review_status_display().lower()}."
    if what == "rate":
        average = review.rate(job, user, data.get("stars"))
        return f"Rated; the team's average is {average:.1f}."
    if what == "comment":
        review.comment(job, user, data.get("text", ""))
        return "Comment added."
    if what == "tags":
        names = review.set_tags(job, user, data.get("tags", ""))
        return f"Tags: {', '.join(names)}." if names else "Tags cleared."
    if what == "favourite":
        return "Kept among your favourites." if review.toggle_favourite(job, user) else "Dropped from your favourites."
    if what == "collect":
        collection = review.collect(job, user, data.get("collection", ""))
        return f"Added to the collection “{collection.name}”."
    if what == "uncollect":
        collection = get_object_or_404(Collection, pk=data.get("collection_id") or 0)
        review.uncollect(job, collection)
        return f"Taken out of the collection “{collection.name}”."
    raise Http404("No such review action.")


@require_POST
@gallery_access
def review_job(request: HttpRequest, uuid: Any, what: str) -> HttpResponse:
    job = visible_jobs(request).filter(uuid=uuid).first()
    if job is None:
        raise Http404("No such video (it may have been deleted).")
    try:
        messages.success(request, _do(request, job, what))
    except SoraVideosError as exc:
        messages.error(request, str(exc))
    return _back(job)


@require_POST
@gallery_access
def comment_change(request: HttpRequest, pk: int, what: str) -> HttpResponse:
    found = get_object_or_404(Comment.objects.select_related("job"), pk=pk)
    try:
        if what == "edit":
            review.edit_comment(found, request.user, request.POST.get("text", ""))
            messages.success(request, "Comment edited.")
        elif what == "delete":
            review.delete_comment(found, request.user)
            messages.success(request, "Comment deleted.")
        else:
            raise Http404("No such comment action.")
    except SoraVideosError as exc:
        messages.error(request, str(exc))
    return _back(found.job)


def panel(user: Any, job: VideoJob) -> dict[str, Any]:
    """What the review panel of a finished video shows this person (a few small queries)."""
    mine = job.ratings.filter(user=user).values_list("stars", flat=True).first()
    return {
        "comments": list(job.comments.select_related("author")),
        "my_stars": mine or 0,
        "ratings_count": job.ratings.count(),
        "is_favourite": job.favourites.filter(user=user).exists(),
        "in_collections": list(job.collections.all()),
        "collection_names": list(Collection.objects.values_list("name", flat=True)[:200]),
        "tags": ", ".join(sorted(job.tags.names(), key=str.lower)),
        "may_judge": review.may_judge(user),
        "verdicts": [("approved", "Approved for use"), ("changes", "Needs changes"), ("", "No verdict")],
    }
