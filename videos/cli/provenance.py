"""``manage.py sora generate --from provenance.json``: the same request again, as a new paid job.

The options the command line gives win over the file's; the spend is confirmed first (a
question on a terminal, ``--yes`` in a script), and the usual checks apply (budget, approval).
"""
from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import CommandError

from .. import conf, provenance, services
from . import EXIT_FAILED, EXIT_INVALID
from .console import Console


def apply(console: Console, o: dict[str, Any]) -> dict[str, Any]:
    """Fill ``o`` from the provenance file (what the command line left unset); the extra params
    it recorded are returned, for the caller to merge under the command line's."""
    request = provenance.read_request(o["from_file"])
    if o.get("prompt") or o.get("prompt_option") or o.get("shot_prompts"):
        raise CommandError("--from gives the prompt: leave PROMPT out (change it in the file instead).",
                           returncode=EXIT_INVALID)
    o["prompt"] = request.prompt
    for key in ("provider", "model", "size", "seconds", "fit"):
        if not o.get(key):
            o[key] = getattr(request, key)
    if request.image is not None and not o.get("image"):
        o["image"] = [str(request.image)]
    config = conf.provider(o["provider"])
    cost = services.estimate_cost(provider=config.name, model=o["model"], size=str(o["size"]), seconds=o["seconds"])
    question = (f"Make it again as a new video at {config.display_name}: {o['model']}, {o['size']}, {o['seconds']} s, "
                f"estimated {cost:.2f} {conf.get('CURRENCY')}")
    if not o.get("yes"):
        if not sys.stdin.isatty():
            raise CommandError(f"{question}. Add --yes to confirm the spend.", returncode=EXIT_INVALID)
        if input(f"{question}? [y/N] ").strip().lower() not in ("y", "yes"):
            raise CommandError("Nothing made.", returncode=EXIT_FAILED)
    console.info(question + ".")
    return request.extra_params
