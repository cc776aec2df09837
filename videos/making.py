"""One request from any surface: a video, or a sequence when it has several prompts (``a || b``)
or several images (one shot each). The make page, the API and ``manage.py sora generate``
all come through here, so they split and pair the same way."""
from __future__ import annotations

from typing import Any
from typing import Sequence as Seq

from . import sequences, services
from .exceptions import InvalidRequest
from .models import Sequence, VideoJob


def make(prompts: Seq[str], images: Seq[Any] = (), *, reference: Any = None, seconds: Any = None, title: str = "",
         **common: Any) -> VideoJob | Sequence:
    """Several prompts or images: a sequence (:func:`videos.sequences.plan_shots` pairs them);
    otherwise one video, started by ``reference`` or the one image. ``common``: the provider,
    model, size, fit, extra parameters, user and project, as the services take them."""
    if len(prompts) > 1 or len(images) > 1:
        if reference is not None:
            raise InvalidRequest("A sequence takes one image per shot: give the images for the shots, not a single "
                                 "reference image as well.", field="reference_image")
        shots = sequences.plan_shots(prompts, images, seconds=seconds)
        return sequences.create_sequence(shots, title=title, seconds=seconds, **common)
    if not prompts:
        raise InvalidRequest("The prompt is empty: describe the video to generate.", field="prompt")
    start = reference if reference is not None else (images[0] if images else None)
    return services.create_video(prompts[0], seconds=seconds, reference_image=start, **common)
