"""URLs of the videos app: ``path("", include("videos.urls"))`` in the site's urls.py (any prefix works).

Names (namespace ``videos``), by what they serve:

- browsing: ``gallery``, ``detail`` (job uuid), ``sequences``, ``sequence_detail`` (sequence uuid),
  ``spend`` (managers), ``profile`` (API tokens; ``token_revoke``: token pk, POST);
- making: ``create`` (``?from=<uuid>`` fills it with a video's request), ``reference_upload``
  (POST, JSON), ``reference_fit``, ``act`` (job uuid and remix, edit, extend, resubmit,
  retry-download, delete, approve or reject: a confirmation page, then POST), ``resubmit``,
  ``sequence_decide`` (sequence uuid; POST ``decision`` and ``reason``);
- review and sharing: ``review`` (job uuid and verdict, rate, comment, tags, favourite, collect or
  uncollect; POST), ``comment`` (pk and edit or delete; POST), ``share_create`` (job uuid, POST),
  ``share_revoke`` (link pk, POST), ``share``, ``share_file``, ``share_item_file`` (the public page
  and its files, no sign-in), ``collection_share``, ``collection_export``, ``export`` and
  ``sequence_export`` (a ZIP with ``provenance.json``);
- files and JSON: ``asset`` (VideoAsset pk, ``?download=1``), ``reference_image``,
  ``sequence_asset``, ``job_status``, ``jobs_status`` (``?ids=``), ``sequence_status``,
  ``sequences_status``;
- ``login``, ``logout`` (POST) and ``webhook`` (a provider's).
"""
from django.urls import path

from .views import (
    account,
    actions,
    export,
    gallery,
    media,
    profile,
    review,
    sequences,
    share,
    spend,
    status,
    studio,
    webhooks,
)

app_name = "videos"

urlpatterns = [
    path("", gallery.gallery, name="gallery"),
    path("new/", studio.create, name="create"),
    path("sign-in/", account.SignInView.as_view(), name="login"),
    path("sign-out/", account.sign_out, name="logout"),
    path("spend/", spend.spend, name="spend"),
    path("profile/", profile.profile, name="profile"),
    path("profile/tokens/<int:pk>/revoke/", profile.revoke_token, name="token_revoke"),
    path("videos/<uuid:uuid>/", gallery.detail, name="detail"),
    path("videos/<uuid:uuid>/share/", share.share_create, name="share_create"),
    path("videos/<uuid:uuid>/review/<slug:what>/", review.review_job, name="review"),
    path("comments/<int:pk>/<slug:what>/", review.comment_change, name="comment"),
    path("videos/<uuid:uuid>/export.zip", export.export_job, name="export"),
    path("sequences/<uuid:uuid>/export.zip", export.export_sequence, name="sequence_export"),
    path("share-links/<int:pk>/revoke/", share.share_revoke, name="share_revoke"),
    path("s/<str:token>/", share.share_page, name="share"),
    path("s/<str:token>/<str:variant>/", share.share_file, name="share_file"),
    path("s/<str:token>/<uuid:uuid>/<str:variant>/", share.share_file, name="share_item_file"),
    path("collections/<int:pk>/share/", share.share_collection, name="collection_share"),
    path("collections/<int:pk>/export.zip", export.export_collection, name="collection_export"),
    path("videos/<uuid:uuid>/resubmit/", actions.act, {"slug": "resubmit"}, name="resubmit"),
    path("videos/<uuid:uuid>/<slug:slug>/", actions.act, name="act"),
    path("assets/<int:pk>/", media.asset, name="asset"),
    path("references/<int:pk>/", media.reference_image, name="reference_image"),
    path("references/upload/", studio.reference_upload, name="reference_upload"),
    path("references/<int:pk>/fit/<str:size>/<str:mode>/", studio.reference_fit, name="reference_fit"),
    path("jobs/status.json", status.jobs_status, name="jobs_status"),
    path("sequences/", sequences.sequence_list, name="sequences"),
    path("sequences/status.json", sequences.sequences_status, name="sequences_status"),
    path("sequences/<uuid:uuid>/", sequences.sequence_detail, name="sequence_detail"),
    path("sequences/<uuid:uuid>/decide/", actions.decide_sequence, name="sequence_decide"),
    path("sequences/<uuid:uuid>/status.json", sequences.sequence_status, name="sequence_status"),
    path("sequence-assets/<int:pk>/", media.sequence_asset, name="sequence_asset"),
    path("jobs/<uuid:uuid>/status.json", status.job_status, name="job_status"),
    path("webhooks/<str:provider>/", webhooks.webhook, name="webhook"),
]
