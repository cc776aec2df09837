"""URLs of the videos app: ``path("", include("videos.urls"))`` in the site's urls.py (any prefix works).

Names (namespace ``videos``): ``gallery``, ``detail`` (job uuid), ``asset`` (VideoAsset pk,
``?download=1`` for an attachment), ``reference_image`` (ReferenceImage pk), ``job_status``
(job uuid, JSON), ``jobs_status`` (``?ids=`` many jobs, JSON) and ``webhook``.
"""
from django.urls import path

from .views import gallery, media, status, webhooks

app_name = "videos"

urlpatterns = [
    path("", gallery.gallery, name="gallery"),
    path("videos/<uuid:uuid>/", gallery.detail, name="detail"),
    path("assets/<int:pk>/", media.asset, name="asset"),
    path("references/<int:pk>/", media.reference_image, name="reference_image"),
    path("jobs/status.json", status.jobs_status, name="jobs_status"),
    path("jobs/<uuid:uuid>/status.json", status.job_status, name="job_status"),
    path("webhooks/<str:provider>/", webhooks.webhook, name="webhook"),
]
