"""How each Videos-API server deviates from OpenAI's spec, as data.

The job store keeps one internal lifecycle (queued, in_progress, completed, failed);
a :class:`Dialect` decides how that lifecycle, the ids and the payloads look on the
wire, and which endpoints exist. The model tables come from :mod:`videos.presets`
so the emulator and the Django side can never disagree about them.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from videos.presets import DIALECT_FEATURES, MODEL_PRESETS

QUEUED = "queued"
IN_PROGRESS = "in_progress"
COMPLETED = "completed"
FAILED = "failed"


@dataclass(frozen=True)
class Dialect:
    """One server flavour; the defaults are OpenAI's behaviour."""

    name: str
    id_prefix: str = "video_"
    #: Internal status -> status on the wire, for the statuses a server renames.
    status_names: Mapping[str, str] = field(default_factory=dict)
    #: SGLang jumps from queued straight to a terminal status.
    reports_in_progress: bool = True
    #: Gateways answer ``"seconds": null``.
    reports_seconds: bool = True
    #: Gateways flip a job to ``expired`` once its assets are gone.
    reports_expired: bool = False
    #: Only OpenAI sends the ``openai-poll-after-ms`` hint.
    poll_after_header: bool = False
    #: SGLang ignores ``variant`` and always serves the MP4.
    ignores_variant: bool = False
    #: SGLang answers DELETE with the job itself, status ``deleted``.
    delete_returns_job: bool = False
    #: SGLang only takes multipart when it carries ``input_reference``.
    multipart_needs_reference: bool = False
    #: LiteLLM refuses to list without ``custom_llm_provider``.
    list_requires_provider: bool = False
    #: LiteLLM wraps the backend id in its own encoding.
    encoded_ids: bool = False
    #: vLLM-Omni has ``POST /v1/videos/sync`` answering with MP4 bytes.
    sync_endpoint: bool = False
    #: Body fields a proxy consumes itself, accepted on top of the model's.
    proxy_fields: tuple[str, ...] = ()

    @property
    def features(self) -> Mapping[str, bool]:
        """Which optional endpoints exist (remix, edit, extend, variants, list)."""
        return DIALECT_FEATURES[self.name]

    @property
    def models(self) -> Mapping[str, Mapping[str, Any]]:
        """The dialect's model table from :mod:`videos.presets` (read-only)."""
        return MappingProxyType(MODEL_PRESETS[self.name])

    @property
    def default_model(self) -> str:
        return next(iter(MODEL_PRESETS[self.name]))

    def new_backend_id(self) -> str:
        return f"{self.id_prefix}{secrets.token_hex(16)}"

    def public_id(self, backend_id: str) -> str:
        """The id clients see for a stored job."""
        if not self.encoded_ids:
            return backend_id
        blob = json.dumps({"id": backend_id, "provider": "openai"}, separators=(",", ":"))
        return "video_" + base64.urlsafe_b64encode(blob.encode()).decode().rstrip("=")

    def backend_id(self, public_id: str) -> str | None:
        """Inverse of :meth:`public_id`; None when the id cannot be one of ours."""
        if not self.encoded_ids:
            return public_id
        if not public_id.startswith("video_"):
            return None
        token = public_id.removeprefix("video_")
        try:
            decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        except (binascii.Error, ValueError):
            return None
        backend = decoded.get("id") if isinstance(decoded, dict) else None
        return backend if isinstance(backend, str) else None

    def wire_status(self, status: str, *, expired: bool) -> str:
        if expired and self.reports_expired:
            return "expired"
        if status == IN_PROGRESS and not self.reports_in_progress:
            status = QUEUED
        return self.status_names.get(status, status)

    def wire_progress(self, status: str, progress: int) -> int:
        if self.reports_in_progress:
            return progress
        return 100 if status == COMPLETED else 0


_DIALECTS = {
    "openai": Dialect("openai", poll_after_header=True),
    "vllm-omni": Dialect("vllm-omni", id_prefix="video_gen_", sync_endpoint=True),
    "sglang": Dialect(
        "sglang",
        reports_in_progress=False,
        ignores_variant=True,
        delete_returns_job=True,
        multipart_needs_reference=True,
    ),
    "litellm": Dialect(
        "litellm",
        status_names={IN_PROGRESS: "processing"},
        list_requires_provider=True,
        encoded_ids=True,
        proxy_fields=("custom_llm_provider",),
    ),
    "gateway": Dialect(
        "gateway",
        status_names={QUEUED: "NOT_START", IN_PROGRESS: "processing"},
        reports_seconds=False,
        reports_expired=True,
    ),
}


def get_dialect(name: str) -> Dialect:
    """The dialect called ``name`` (one of :data:`videos.presets.DIALECTS`)."""
    return _DIALECTS[name]


def dialect_names() -> tuple[str, ...]:
    return tuple(_DIALECTS)
