"""URLs of the videos app: ``path("", include("videos.urls"))`` in the site's urls.py (any prefix works).

Names (namespace ``videos``): ``gallery``, ``detail`` (job uuid), ``asset`` (VideoAsset pk,
``?download=1`` for an attachment), ``reference_image`` (ReferenceImage pk), ``job_status``
(job uuid, JSON), ``jobs_status`` (``?ids=`` many jobs, JSON), ``sequences``, ``sequence_detail``
(sequence uuid), ``sequence_asset`` (SequenceAsset pk), ``sequence_status`` (sequence uuid, JSON),
``sequences_status`` (``?ids=``, JSON), ``resubmit`` (job uuid, POST) and ``webhook``.
"""
from django.urls import path

from .views import gallery, media, resubmit, sequences, status, webhooks

app_name = "videos"

urlpatterns = [
    path("", gallery.gallery, name="gallery"),
    path("videos/<uuid:uuid>/", gallery.detail, name="detail"),
    path("videos/<uuid:uuid>/resubmit/", resubmit.resubmit, name="resubmit"),
    path("assets/<int:pk>/", media.asset, name="asset"),
    path("references/<int:pk>/", media.reference_image, name="reference_image"),
    path("jobs/status.json", status.jobs_status, name="jobs_status"),
    path("sequences/", sequences.sequence_list, name="sequences"),
    path("sequences/status.json", sequences.sequences_status, name="sequences_status"),
    path("sequences/<uuid:uuid>/", sequences.sequence_detail, name="sequence_detail"),
    path("sequences/<uuid:uuid>/status.json", sequences.sequence_status, name="sequence_status"),
    path("sequence-assets/<int:pk>/", media.sequence_asset, name="sequence_asset"),
    path("jobs/<uuid:uuid>/status.json", status.job_status, name="job_status"),
    path("webhooks/<str:provider>/", webhooks.webhook, name="webhook"),
]
