"""``manage.py sora token create USERNAME --name NAME [--days N]`` (prints the token once),
``token list [USERNAME]`` and ``token revoke ID``."""
from __future__ import annotations

from typing import Any

from .. import tokens
from ..exceptions import InvalidRequest
from ..models import ApiToken
from .console import Console, table
from .inputs import resolve_user


def token_command(console: Console, o: dict[str, Any]) -> None:
    what = o["token_command"]
    if what == "create":
        user = resolve_user(o["username"])
        token, raw = tokens.create(user, o["name"], days=o.get("days"))
        console.out(raw)
        until = f"until {token.expires_at:%Y-%m-%d}" if token.expires_at else "until revoked"
        console.info(f"Token {token.pk} ({token.name}) for {user.get_username()}, valid {until}. It is shown only "
                     "now: keep it in your automation's secrets. Send it as 'Authorization: Bearer <token>'.")
    elif what == "list":
        found = ApiToken.objects.select_related("user").order_by("-created_at")
        if o.get("username"):
            found = found.filter(user=resolve_user(o["username"]))
        rows = [[str(t.pk), t.user.get_username(), t.name, t.prefix + "…",
                 "live" if t.is_live else ("revoked" if t.revoked_at else "expired"),
                 f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"] for t in found[:200]]
        console.out(table(["ID", "USER", "NAME", "TOKEN", "STATE", "LAST USED"], rows) if rows else "No tokens.")
    else:
        token = ApiToken.objects.filter(pk=o["id"]).first()
        if token is None:
            raise InvalidRequest(f"No token {o['id']}.", field="id")
        tokens.revoke(token)
        console.out(f"Token {token.pk} ({token.name}) is revoked: requests with it are refused (401).")
