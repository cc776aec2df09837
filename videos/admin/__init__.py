"""The operators' studio: every prompt, image, job, file and webhook of the videos app.

Jobs are created on the Generate page (the job "add" view) and changed only through
actions, which all go through :mod:`videos.services`; multi-shot sequences likewise on the
Generate sequence page, through :mod:`videos.sequences`.
"""
from django.contrib import admin

from ..models import (
    ApiToken,
    Collection,
    Project,
    Prompt,
    ProviderCapability,
    ReferenceImage,
    Sequence,
    VideoAsset,
    VideoJob,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from .assets import VideoAssetAdmin
from .images import ReferenceImageAdmin
from .jobs import VideoJobAdmin
from .outbound import WebhookDeliveryAdmin, WebhookEndpointAdmin
from .projects import ApiTokenAdmin, CollectionAdmin, ProjectAdmin
from .prompts import PromptAdmin
from .providers import ProviderCapabilityAdmin
from .sequences import SequenceAdmin
from .webhooks import WebhookEventAdmin

admin.site.register(VideoJob, VideoJobAdmin)
admin.site.register(Sequence, SequenceAdmin)
admin.site.register(Prompt, PromptAdmin)
admin.site.register(ReferenceImage, ReferenceImageAdmin)
admin.site.register(VideoAsset, VideoAssetAdmin)
admin.site.register(WebhookEvent, WebhookEventAdmin)
admin.site.register(ProviderCapability, ProviderCapabilityAdmin)
admin.site.register(Project, ProjectAdmin)
admin.site.register(Collection, CollectionAdmin)
admin.site.register(ApiToken, ApiTokenAdmin)
admin.site.register(WebhookEndpoint, WebhookEndpointAdmin)
admin.site.register(WebhookDelivery, WebhookDeliveryAdmin)

__all__ = [
    "ApiTokenAdmin",
    "CollectionAdmin",
    "ProjectAdmin",
    "PromptAdmin",
    "ProviderCapabilityAdmin",
    "ReferenceImageAdmin",
    "SequenceAdmin",
    "VideoAssetAdmin",
    "VideoJobAdmin",
    "WebhookDeliveryAdmin",
    "WebhookEndpointAdmin",
    "WebhookEventAdmin",
]
