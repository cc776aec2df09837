"""The webhook endpoint: validate, store, answer fast; processing happens in the queue."""
from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..exceptions import ConfigurationError, InvalidRequest
from ..webhooks import receive


@csrf_exempt
@require_POST
def webhook(request: HttpRequest, provider: str) -> JsonResponse:
    headers = {key.lower(): value for key, value in request.headers.items()}
    try:
        event, created = receive(provider, request.body, headers)
    except (InvalidRequest, ConfigurationError) as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"received": event.event_id, "duplicate": not created})
