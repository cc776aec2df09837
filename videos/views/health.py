"""``/healthz`` for load balancers: JSON, 200 when this web node can serve, 503 when not.

The checks are :mod:`videos.health`'s, without the storage write; the providers' answers
are reused for :data:`PROVIDERS_FOR` seconds. Only the database, the broker and the storage
decide the status: a provider or the workers being down is shown in the JSON, but the
pages still work, so the node stays in rotation. What each check saw (hosts, paths, the
fix) is shown to staff only; anyone else gets the names and verdicts.
"""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .. import health

PROVIDERS_FOR = 30.0


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    checks = health.run(write=False, scheme=request.scheme, base_url=f"{request.scheme}://{request.get_host()}",
                        providers_for=PROVIDERS_FOR)
    ok = all(check.ok for check in checks if check.critical)
    staff = request.user.is_authenticated and request.user.is_staff
    shown = [check.as_dict() if staff else {"name": check.name, "ok": check.ok, "critical": check.critical}
             for check in checks]
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": shown}, status=200 if ok else 503)
