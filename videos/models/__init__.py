"""Models that mirror the provider's videos and the files we keep of them."""
from .asset import AssetVariant, VideoAsset
from .job import JobKind, JobStatus, VideoJob, VideoJobEvent
from .lease import Lease
from .prompt import Prompt
from .reference_image import ReferenceImage
from .sequence import Sequence, SequenceAsset, SequenceShot, SequenceStatus
from .webhook import WebhookEvent

__all__ = [
    "AssetVariant",
    "JobKind",
    "JobStatus",
    "Lease",
    "Prompt",
    "ReferenceImage",
    "Sequence",
    "SequenceAsset",
    "SequenceShot",
    "SequenceStatus",
    "VideoAsset",
    "VideoJob",
    "VideoJobEvent",
    "WebhookEvent",
]
