"""What the control API and the fault rules see of a job or a request, whatever the dialect."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from videos.emulator.api import Api
from videos.emulator.protocol import Request
from videos.emulator.state import Job


def internal_view(api: Api, job: Job) -> dict[str, Any]:
    """What ``GET /_emulator/jobs`` shows: the wire view plus the emulator's own state."""
    view = api.resource(job)
    with api.store.lock:
        view["emulator"] = {
            "backend_id": job.id,
            "kind": job.kind,
            "status": job.status,
            "progress": job.progress,
            "completed_at_exact": job.completed_wall,
            "deleted": job.deleted,
            "expired": job.expired,
            "seed": job.seed,
            "source_video_id": api.public_id(job.source_id) if job.source_id else None,
            "fps": job.spec.fps,
            "size": f"{job.spec.width}x{job.spec.height}",
            "render": {
                "state": job.render_state,
                "started_at": job.render_started,
                "finished_at": job.render_finished,
                "error": job.render_error,
            },
            "assets": {variant: asset.describe() for variant, asset in job.assets.items()},
        }
    return view

def fault_context(endpoint: str, request: Request) -> dict[str, Any]:
    """The values a fault rule's ``match`` can test for this request."""
    context: dict[str, Any] = {}
    for key, value in request.body.items():
        if isinstance(value, (str, int, float)):
            context[key] = value
    source = request.body.get("video")
    if isinstance(source, Mapping) and "id" in source:
        context["video_id"] = source["id"]
    context.update(request.query)
    context.update(request.params)
    if endpoint == "content":
        context.setdefault("variant", "video")
    return context
