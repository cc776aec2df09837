"""Outbound webhooks in the admin: endpoints (URL, events, secret) and the delivery log with
each answer, and "Send again"."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from .. import outbound
from ..exceptions import InvalidRequest
from ..models import OutboundEvent, WebhookEndpoint


class EndpointForm(forms.ModelForm):
    url = forms.URLField(label="URL", max_length=500, assume_scheme="https",
                         help_text="http(s) only; private addresses need SORA_VIDEOS['WEBHOOKS_ALLOW_PRIVATE'].")
    events = forms.MultipleChoiceField(choices=OutboundEvent.choices, required=False,
                                       widget=forms.CheckboxSelectMultiple,
                                       help_text="None ticked: every event.")

    class Meta:
        model = WebhookEndpoint
        fields = ("url", "description", "events", "active", "paused_at")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            outbound.check_url(url)
        except InvalidRequest as exc:
            raise forms.ValidationError(exc.message) from None
        return url


class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ("url", "description", "active", "paused_at", "failures_in_a_row", "owner")
    list_filter = ("active",)
    readonly_fields = ("secret", "owner", "failures_in_a_row", "created_at")

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        if not obj.secret:
            obj.secret = outbound.new_secret()
        if obj.owner_id is None:
            obj.owner = request.user
        if obj.paused_at is None:
            obj.failures_in_a_row = 0
        super().save_model(request, obj, form, change)


@admin.action(description="Send again (same event id)")
def send_again(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: Any) -> None:
    for delivery in queryset:
        outbound.send_again(delivery)
    modeladmin.message_user(request, f"Queued {queryset.count()} deliver{'y' if queryset.count() == 1 else 'ies'} "
                                     "again.")


class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event_type", "endpoint", "event_id", "attempts", "status_code", "delivered_at", "gave_up_at",
                    "next_attempt_at", "created_at")
    list_filter = ("event_type", "delivered_at", "gave_up_at")
    search_fields = ("event_id", "endpoint__url")
    list_select_related = ("endpoint",)
    readonly_fields = ("endpoint", "event_id", "event_type", "payload", "created_at", "attempts", "next_attempt_at",
                       "delivered_at", "gave_up_at", "status_code", "response")
    actions = [send_again]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
