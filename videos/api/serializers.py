"""What the API reads and writes. Input is checked here for shape (types, unknown fields,
sizes); :mod:`videos.services` checks the meaning (models, sizes, budgets) as everywhere."""
from __future__ import annotations

import re
from typing import Any

from django.urls import NoReverseMatch, reverse
from rest_framework import serializers

from .. import advice, conf
from ..models import Project, ReferenceImage, VideoJob

MAX_IMAGES = 20


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not know (a typo must not be silently ignored)."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(getattr(self, "initial_data", {}) or {}) - set(self.fields))
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


class VideoSerializer(serializers.ModelSerializer):
    id = serializers.UUIDField(source="uuid", read_only=True)
    progress = serializers.IntegerField(source="percent", read_only=True)
    note = serializers.CharField(read_only=True)
    prompt = serializers.CharField(source="prompt_text", read_only=True)
    parent = serializers.UUIDField(source="parent.uuid", read_only=True, allow_null=True, default=None)
    owner = serializers.CharField(source="owner.get_username", read_only=True, allow_null=True, default=None)
    project = serializers.CharField(source="project.name", read_only=True, allow_null=True, default=None)
    currency = serializers.SerializerMethodField()
    error = serializers.SerializerMethodField()
    files = serializers.SerializerMethodField()
    page = serializers.SerializerMethodField()

    class Meta:
        model = VideoJob
        fields = ["id", "status", "progress", "note", "kind", "prompt", "provider", "model", "size", "seconds",
                  "extra_params", "parent", "owner", "project", "estimated_cost", "currency", "review_status",
                  "rating", "remote_id", "error", "files", "page", "created_at", "submitted_at", "completed_at",
                  "stored_at", "expires_at"]
        read_only_fields = fields

    def get_currency(self, job: VideoJob) -> str:
        return conf.get("CURRENCY")

    def get_error(self, job: VideoJob) -> dict[str, str] | None:
        found = advice.explain(job)
        if found is None:
            return None
        return {"code": job.error_code, "message": job.error_message, "headline": found.headline,
                "next_step": found.action_label}

    def get_files(self, job: VideoJob) -> dict[str, Any]:
        request = self.context.get("request")
        files = {}
        for asset in job.assets.all():
            url = reverse("videos_api:video-file", args=[job.uuid, asset.variant])
            files[asset.variant] = {"url": request.build_absolute_uri(url) if request else url, "bytes": asset.bytes,
                                    "content_type": asset.content_type, "sha256": asset.sha256 or None}
        return files

    def get_page(self, job: VideoJob) -> str | None:
        request = self.context.get("request")
        try:
            url = reverse("videos:detail", args=[job.uuid])
        except NoReverseMatch:  # the gallery's URLs are not installed
            return None
        return request.build_absolute_uri(url) if request else url


class CreateSerializer(StrictSerializer):
    prompt = serializers.CharField(max_length=32000, help_text="What to make; 'a || b' makes a two-shot sequence.")
    provider = serializers.CharField(required=False, max_length=64)
    model = serializers.CharField(required=False, max_length=100)
    size = serializers.CharField(required=False, max_length=11)
    seconds = serializers.IntegerField(required=False, min_value=1, max_value=600)
    fit = serializers.ChoiceField(choices=["crop", "letterbox"], required=False)
    extra_params = serializers.DictField(required=False, help_text="e.g. {\"seed\": 7} where the model takes it")
    reference_image = serializers.CharField(required=False, max_length=500,
                                            help_text="A stored reference image: its id, or its URL (…/references/12/)")
    image = serializers.ImageField(required=False, help_text="A first frame to upload (JPEG, PNG, WebP)")
    images = serializers.ListField(child=serializers.ImageField(), required=False, max_length=MAX_IMAGES,
                                   help_text="Several images: one shot each (a sequence)")
    title = serializers.CharField(required=False, max_length=200)
    project = serializers.SlugRelatedField(slug_field="name", queryset=Project.objects.all(), required=False)

    def validate_reference_image(self, value: str) -> ReferenceImage:
        found = re.fullmatch(r"\s*(\d+)\s*", value) or re.search(r"/references/(\d+)/?(?:\?.*)?$", value)
        ref = ReferenceImage.objects.filter(pk=int(found.group(1))).first() if found else None
        if ref is None:
            raise serializers.ValidationError("No stored reference image with that id or URL.")
        return ref

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        if attrs.get("image") and attrs.get("reference_image"):
            raise serializers.ValidationError({"image": ["Upload an image or name a stored one, not both."]})
        return attrs


class PromptSerializer(StrictSerializer):
    prompt = serializers.CharField(max_length=32000)


class ExtendSerializer(PromptSerializer):
    seconds = serializers.IntegerField(min_value=1, max_value=600)


class RejectSerializer(StrictSerializer):
    reason = serializers.CharField(max_length=500)


class EstimateSerializer(StrictSerializer):
    provider = serializers.CharField(required=False, max_length=64)
    model = serializers.CharField(required=False, max_length=100)
    size = serializers.CharField(required=False, max_length=11)
    seconds = serializers.IntegerField(required=False, min_value=1, max_value=600)
    shots = serializers.IntegerField(required=False, min_value=1, max_value=MAX_IMAGES, default=1)
