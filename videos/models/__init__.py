"""Models that mirror the provider's videos and the files we keep of them."""
from .api import ApiToken, IdempotencyKey
from .asset import AssetVariant, VideoAsset
from .capability import ProviderCapability
from .job import JobError, JobKind, JobStatus, VideoJob, VideoJobEvent, forgotten_message
from .lease import Lease
from .outbound import OutboundEvent, WebhookDelivery, WebhookEndpoint
from .project import Project
from .prompt import Prompt
from .reference_image import ReferenceImage
from .review import Collection, Comment, Favourite, Rating, ReviewStatus
from .sequence import Sequence, SequenceAsset, SequenceShot, SequenceStatus
from .share import ShareLink
from .webhook import WebhookEvent

__all__ = [
    "ApiToken",
    "IdempotencyKey",
    "AssetVariant",
    "Collection",
    "Comment",
    "Favourite",
    "Rating",
    "ReviewStatus",
    "JobError",
    "JobKind",
    "JobStatus",
    "Lease",
    "OutboundEvent",
    "Project",
    "Prompt",
    "ProviderCapability",
    "ReferenceImage",
    "Sequence",
    "SequenceAsset",
    "SequenceShot",
    "SequenceStatus",
    "ShareLink",
    "VideoAsset",
    "VideoJob",
    "VideoJobEvent",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "forgotten_message",
]
