"""Signals the app sends, so a site can react without patching the app."""
from django.dispatch import Signal

#: Sent after commit whenever a job changes status.
#: kwargs: ``job`` (VideoJob), ``old_status``, ``new_status``.
job_status_changed = Signal()

#: Sent after a verified webhook event was stored. kwargs: ``event`` (WebhookEvent), ``provider``.
webhook_received = Signal()

#: Sent when every asset of a job is stored. kwargs: ``job``.
job_stored = Signal()

#: Sent after commit when a sequence's stitched video is stored. kwargs: ``sequence``.
sequence_stored = Signal()

#: Sent after commit when a job is created waiting for approval. kwargs: ``job``.
approval_requested = Signal()
