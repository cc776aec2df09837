"""The two answers the admin's and the gallery's reference-image previews share: storing an
uploaded image (JSON for the page's script) and showing it as it would be sent. Each surface
checks who may ask before it calls these."""
from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, reverse

from . import services
from .exceptions import InvalidRequest
from .images import fitted_reference
from .models import ReferenceImage


def reference_upload(request: HttpRequest, **extra: Any) -> JsonResponse:
    """Check and store the posted ``image``; its id, size and URL (plus ``extra``) for the preview."""
    if request.method != "POST":
        return JsonResponse({"error": "POST an image."}, status=405)
    upload = request.FILES.get("image")
    if upload is None:
        return JsonResponse({"error": "Choose an image file to upload."}, status=400)
    try:
        ref = services.save_reference_image(upload, user=request.user)
    except InvalidRequest as exc:
        return JsonResponse({"error": exc.message}, status=400)
    try:
        url = reverse("videos:reference_image", args=[ref.pk])
    except NoReverseMatch:  # the gallery's URLs are not installed
        url = ""
    links = {key: reverse(name, args=[ref.pk]) for key, name in extra.items()}
    return JsonResponse({"id": ref.pk, "name": ref.original_name, "width": ref.width, "height": ref.height,
                         "format": ref.format, "url": url, **links})


def fitted(pk: int, size: str, mode: str) -> HttpResponse:
    """A stored reference image as it would be sent for a video of ``size`` (crop or letterbox)."""
    ref = get_object_or_404(ReferenceImage, pk=pk)
    try:
        data, content_type = fitted_reference(ref.image, size, mode)
    except InvalidRequest as exc:
        return HttpResponseBadRequest(exc.message)
    except OSError:
        raise Http404("The image file is missing from storage.") from None
    return HttpResponse(data, content_type=content_type, headers={"Cache-Control": "private, max-age=86400"})
