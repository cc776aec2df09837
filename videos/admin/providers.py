"""One page per provider: what its server can do, who says so, and since when.

Shown on the ``ProviderCapability`` changelist: every configured provider with each
feature's answer and its source (a settings pin, the server's own answer with its
evidence, or the dialect's default) and the models ``GET /models`` listed. "Check
again" forgets what was learned and asks ``GET /models`` now; the next answers teach
the rest anew.
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from .. import capabilities, conf
from ..exceptions import ProviderError
from ..providers import get_provider
from .common import admin_page


class ProviderCapabilityAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_or_change_permission(request):
            return super().changelist_view(request, extra_context)  # Django's own refusal
        if request.method == "POST" and self.has_change_permission(request):
            return self._check_again(request, request.POST.get("provider", ""))
        providers = []
        for config in conf.providers().values():
            rows = [{"feature": feature, "action": cap.action, "supported": cap.supported, "source": cap.source,
                     "learned_at": cap.learned_at, "evidence": cap.evidence, "explain": cap.explain(config)}
                    for feature, cap in capabilities.table(config).items()]
            providers.append({"config": config, "url": conf.safe_url(config.base_url), "rows": rows,
                              "served": capabilities.learned_models(config),
                              "models_due": capabilities.models_due(config)})
        context = {
            **admin_page(self, request, "What each provider can do"),
            "providers": providers,
            "can_check": self.has_change_permission(request),
            "ttl_hours": float(conf.get("CAPABILITY_TTL")) / 3600,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/sora_videos/providercapability/providers.html", context)

    def _check_again(self, request: HttpRequest, name: str) -> HttpResponse:
        try:
            config = conf.provider(name)
        except Exception:  # noqa: BLE001 - a name not in the settings
            messages.error(request, f"No provider {name!r} is configured.")
        else:
            forgotten = capabilities.forget(config)
            try:
                served = capabilities.check_models(get_provider(config.name))
            except ProviderError as exc:
                messages.warning(request, f"{config.display_name}: forgot {forgotten} learned answer(s); "
                                          f"GET /models failed ({exc}). Its next answers teach the rest.")
            else:
                listed = ", ".join(served) if served else "no model list (GET /models is not served)"
                messages.success(request, f"{config.display_name}: forgot {forgotten} learned answer(s); "
                                          f"it serves {listed}. Its next answers teach the rest.")
        return HttpResponseRedirect(reverse("admin:sora_videos_providercapability_changelist"))
