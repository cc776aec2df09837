"""Models that mirror the provider's videos and the files we keep of them."""
from .asset import AssetVariant, VideoAsset
from .job import JobKind, JobStatus, VideoJob, VideoJobEvent
from .lease import Lease
from .prompt import Prompt
from .reference_image import ReferenceImage
from .webhook import WebhookEvent

__all__ = [
    "AssetVariant",
    "JobKind",
    "JobStatus",
    "Lease",
    "Prompt",
    "ReferenceImage",
    "VideoAsset",
    "VideoJob",
    "VideoJobEvent",
    "WebhookEvent",
]
