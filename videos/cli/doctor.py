"""``manage.py sora doctor``: is this installation able to work, and if not, what to do."""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from django.core.management.base import CommandError

from .. import health
from . import EXIT_FAILED, EXIT_INVALID
from .console import Console


def doctor(console: Console, o: dict[str, Any]) -> None:
    url = o.get("url")
    scheme = None
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise CommandError(f"--url {url!r} is not an http(s) address such as https://videos.example.com",
                               returncode=EXIT_INVALID)
        scheme = parts.scheme
    checks = health.run(write=not o.get("no_write"), scheme=scheme, base_url=url)
    if o.get("json"):
        console.out(json.dumps([check.as_dict() for check in checks], indent=2))
    else:
        width = max(len(check.name) for check in checks)
        lines = []
        for check in checks:
            lines.append(f"{'PASS' if check.ok else 'FAIL'}  {check.name:<{width}}  {check.detail}")
            if not check.ok and check.fix:
                lines.append(f"{'':6}{'':<{width}}  -> {check.fix}")
        console.out("\n".join(lines))
    failed = [check.name for check in checks if not check.ok]
    if failed:
        raise CommandError(f"{len(failed)} check(s) failed: {', '.join(failed)}.", returncode=EXIT_FAILED)
