"""The API's endpoints: videos (list, retrieve, create, and each action), files and estimates.

Each endpoint asks what the gallery asks: :func:`videos.visibility.scope` for what a person
sees, :func:`videos.policy.refusal_for` for what they may do, :mod:`videos.services` for doing
it. An ``Idempotency-Key`` on create makes a retried request return the first result.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.db.models import Prefetch
from django.http import Http404
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, permissions, status, viewsets
from rest_framework.authentication import SessionAuthentication
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import approvals, budgets, conf, making, policy, sequences, services, visibility
from ..exceptions import BudgetExceeded, InvalidRequest, JobStateError, NotPermitted, ProviderError, SoraVideosError
from ..filters import GalleryFilterForm
from ..models import IdempotencyKey, Sequence, VideoAsset, VideoJob
from ..policy import Action
from ..validation import check_request
from ..views.access import can_view
from ..views.media import serve_variant
from .auth import BearerTokenAuthentication
from .serializers import (
    CreateSerializer,
    EstimateSerializer,
    ExtendSerializer,
    PromptSerializer,
    RejectSerializer,
    VideoSerializer,
)


class CanView(permissions.BasePermission):
    message = "You need the permission to view videos: ask an administrator to add you to 'Video viewers'."

    def has_permission(self, request: Request, view: Any) -> bool:
        return can_view(request.user)


class Newest(CursorPagination):
    ordering = ("-created_at", "-id")
    page_size = 24
    page_size_query_param = "page_size"
    max_page_size = 100


class Base(APIView):
    authentication_classes = [BearerTokenAuthentication, SessionAuthentication]
    permission_classes = [CanView]
    parser_classes = [JSONParser, MultiPartParser, FormParser]
    schema = AutoSchema()

    def handle_exception(self, exc: Exception) -> Response:
        """The app's typed errors, in HTTP: 400 with the field, 403, 409, 502."""
        if isinstance(exc, BudgetExceeded):
            return Response({"budget": [exc.message], "remaining": str(exc.remaining)}, status=400)
        if isinstance(exc, InvalidRequest):
            return Response({exc.field or "non_field_errors": [exc.message]}, status=400)
        if isinstance(exc, NotPermitted):
            return Response({"detail": str(exc)}, status=403)
        if isinstance(exc, JobStateError):
            return Response({"detail": str(exc)}, status=409)
        if isinstance(exc, ProviderError):
            return Response({"detail": f"The provider answered: {exc}"}, status=502)
        if isinstance(exc, SoraVideosError):
            return Response({"detail": str(exc)}, status=400)
        return super().handle_exception(exc)


def _digest(request: Request) -> str:
    """What identifies a create request's content (files by name and size)."""
    data = {}
    for key in sorted(request.data.keys()):
        values = request.data.getlist(key) if hasattr(request.data, "getlist") else [request.data[key]]
        data[key] = [f"file:{v.name}:{v.size}" if hasattr(v, "read") else v for v in values]
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


class VideoViewSet(Base, viewsets.GenericViewSet):
    serializer_class = VideoSerializer
    lookup_field = "uuid"
    pagination_class = Newest

    def get_queryset(self) -> Any:
        assets = Prefetch("assets", VideoAsset.objects.order_by("variant"))
        return visibility.scope(VideoJob.objects.visible(), self.request.user).select_related(
            "owner", "parent", "project").prefetch_related(assets)

    def _job(self) -> VideoJob:
        job = self.get_queryset().filter(uuid=self.kwargs["uuid"]).first()
        if job is None:
            raise Http404("No such video.")
        return job

    def _show(self, job: VideoJob, code: int = 200) -> Response:
        return Response(VideoSerializer(job, context={"request": self.request}).data, status=code)

    def _out(self, job: VideoJob, code: int = 200) -> Response:
        """A job a service made or changed, read again with its owner, parent and files."""
        return self._show(self.get_queryset().get(pk=job.pk), code)

    @extend_schema(parameters=[OpenApiParameter(name, str, description="As the gallery's filter") for name in
                               GalleryFilterForm.FILTER_FIELDS])
    def list(self, request: Request) -> Response:
        form = GalleryFilterForm(request.query_params or None, user=request.user)
        if form.is_bound and not form.is_valid():
            raise exceptions.ValidationError(form.errors)
        page = self.paginate_queryset(form.apply(self.get_queryset()))
        return self.get_paginated_response(VideoSerializer(page, many=True, context={"request": request}).data)

    def retrieve(self, request: Request, uuid: Any = None) -> Response:
        return self._show(self._job())

    @extend_schema(request={"multipart/form-data": CreateSerializer, "application/json": CreateSerializer},
                   responses={201: VideoSerializer})
    def create(self, request: Request) -> Response:
        """Make a video (or a sequence: several images, or prompts joined by '||')."""
        if not policy.may_make(request.user):
            raise exceptions.PermissionDenied("You may not make videos: ask to be added to 'Video makers'.")
        checked = CreateSerializer(data=request.data)
        checked.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return self._made(self._make(checked.validated_data), 201)
        if len(key) > 255:
            raise exceptions.ValidationError({"Idempotency-Key": ["At most 255 characters."]})
        digest = _digest(request)
        with transaction.atomic():
            claim, created = IdempotencyKey.objects.get_or_create(
                user=request.user, key=key, defaults={"request_digest": digest})
            if not created:
                if claim.request_digest != digest:
                    return Response({"detail": "This Idempotency-Key was used for another request: use a new key."},
                                    status=422)
                replay = self._made(claim.sequence or claim.job, 200)
                replay["Idempotent-Replayed"] = "true"
                return replay
            made = self._make(checked.validated_data)
            if isinstance(made, Sequence):
                claim.sequence = made
            else:
                claim.job = made
            claim.save(update_fields=["job", "sequence"])
        return self._made(made, 201)

    def _make(self, data: dict[str, Any]) -> VideoJob | Sequence:
        return making.make(
            sequences.split_prompts(data["prompt"]), data.get("images") or [],
            reference=data.get("image") or data.get("reference_image"), seconds=data.get("seconds"),
            title=data.get("title", ""), provider=data.get("provider"), model=data.get("model"),
            size=data.get("size"), fit=data.get("fit"), extra_params=data.get("extra_params"),
            user=self.request.user, project=data.get("project"))

    def _made(self, made: VideoJob | Sequence | None, code: int) -> Response:
        if isinstance(made, Sequence):
            jobs = [shot.job for shot in sequences.shots_of(made) if shot.job is not None]
            body = {"sequence": {"id": str(made.uuid), "title": made.title, "status": made.status},
                    "videos": VideoSerializer(self.get_queryset().filter(pk__in=[j.pk for j in jobs]), many=True,
                                              context={"request": self.request}).data}
            return Response(body, status=code)
        if made is None:
            raise Http404("The video made with this key was deleted.")
        return self._out(made, code)

    def _act(self, name: str, serializer: Any = None) -> Response:
        job = self._job()
        policy.require_for(self.request.user, name, job)
        data: dict[str, Any] = {}
        if serializer is not None:
            checked = serializer(data=self.request.data)
            checked.is_valid(raise_exception=True)
            data = checked.validated_data
        result = services.perform(name, job, user=self.request.user, prompt=data.get("prompt", ""),
                                  seconds=data.get("seconds"), reason=data.get("reason", ""))
        return self._out(result, 201 if result.pk != job.pk else 200)

    @extend_schema(request=PromptSerializer, responses={201: VideoSerializer})
    @action(detail=True, methods=["post"])
    def remix(self, request: Request, uuid: Any = None) -> Response:
        return self._act(Action.REMIX, PromptSerializer)

    @extend_schema(request=PromptSerializer, responses={201: VideoSerializer})
    @action(detail=True, methods=["post"])
    def edit(self, request: Request, uuid: Any = None) -> Response:
        return self._act(Action.EDIT, PromptSerializer)

    @extend_schema(request=ExtendSerializer, responses={201: VideoSerializer})
    @action(detail=True, methods=["post"])
    def extend(self, request: Request, uuid: Any = None) -> Response:
        return self._act(Action.EXTEND, ExtendSerializer)

    @extend_schema(request=None, responses={201: VideoSerializer})
    @action(detail=True, methods=["post"])
    def resubmit(self, request: Request, uuid: Any = None) -> Response:
        return self._act(Action.RESUBMIT)

    @extend_schema(request=None, responses={200: VideoSerializer})
    @action(detail=True, methods=["post"], url_path="retry-download")
    def retry_download(self, request: Request, uuid: Any = None) -> Response:
        return self._act(Action.RETRY_DOWNLOAD)

    @extend_schema(request=None, responses={200: VideoSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, uuid: Any = None) -> Response:
        return self._act(Action.APPROVE)

    @extend_schema(request=RejectSerializer, responses={200: VideoSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, uuid: Any = None) -> Response:
        return self._act(Action.REJECT, RejectSerializer)

    @extend_schema(responses={200: VideoSerializer})
    def destroy(self, request: Request, uuid: Any = None) -> Response:
        job = self._job()
        policy.require_for(request.user, Action.DELETE, job)
        deleted = services.delete(job, user=request.user)
        body = VideoSerializer(deleted, context={"request": request}).data
        return Response({**body, "note": deleted.remote_note or ""}, status=200)

    @extend_schema(responses={(200, "application/octet-stream"): bytes, 302: None})
    @action(detail=True, methods=["get"], url_path=r"files/(?P<variant>video|thumbnail|spritesheet)")
    def file(self, request: Request, uuid: Any = None, variant: str = "video") -> Any:
        """The file itself (a redirect to a short-lived signed URL on S3)."""
        job = self._job()
        item = next((a for a in job.assets.all() if a.variant == variant), None)
        if item is None:
            raise Http404(f"This video has no {variant} stored.")
        return serve_variant(request._request, item, job.prompt_text, job.uuid)


class EstimateView(Base):
    @extend_schema(parameters=[EstimateSerializer], responses={200: dict})
    def get(self, request: Request) -> Response:
        """What a request would cost, what the person may still spend, and whether it needs approval."""
        checked = EstimateSerializer(data=request.query_params.dict())
        checked.is_valid(raise_exception=True)
        data = checked.validated_data
        config = conf.provider(data.get("provider"))
        req = check_request(config, prompt="estimate", model=data.get("model"), size=data.get("size"),
                            seconds=data.get("seconds"))  # what the model offers, as a create would check
        cost = req.model.cost(req.size, req.seconds) * data.get("shots", 1)
        spendable = budgets.spendable(request.user)
        return Response({"cost": str(cost), "currency": conf.get("CURRENCY"),
                         "spendable": None if spendable is None else str(spendable),
                         "fits_budget": spendable is None or cost <= spendable,
                         "needs_approval": approvals.needed(config, cost)}, status=status.HTTP_200_OK)
