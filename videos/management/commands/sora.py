"""``manage.py sora``: generate, follow, download and organise videos from the command line.

Subcommands: generate, list-models, providers, doctor, roles, approve, reject, share, token, status, download,
remix, edit, extend, resubmit, delete, batch, sync and sequence (list, status, retry, replace, stitch, download).
See docs/cli.md.
The bodies live in :mod:`videos.cli.commands`; this module only builds the parser.
"""
from __future__ import annotations

import argparse
import logging
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from videos.cli.commands import run
from videos.cli.console import Console

DEFAULT_TIMEOUT = 1800.0


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("the timeout must be more than 0 seconds")
    return value


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-progress", action="store_true", help="No progress bars on stderr.")


def _wait_options(parser: argparse.ArgumentParser, *, output: bool = True) -> None:
    parser.add_argument("--wait", action="store_true",
                        help="Wait until done (doing the work here if no qcluster runs), then save the MP4.")
    if output:
        parser.add_argument("--output", "-o", metavar="FILE",
                            help="Where to save the MP4 (implies --wait); a folder, or a file name in which {uuid} "
                            "is replaced. Default: <uuid>.mp4 in the current folder.")
    parser.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"Stop waiting after this long (exit code 3; the work goes on). Default {DEFAULT_TIMEOUT:.0f}.")


def _user_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--user", metavar="USERNAME", help="Submit for this user (their monthly budget applies).")


def _request_options(parser: argparse.ArgumentParser, *, extras: bool = True) -> None:
    parser.add_argument("--provider", help="A provider from SORA_VIDEOS['PROVIDERS'] (default: the default one).")
    parser.add_argument("--model", "-m", help="Model name (see list-models).")
    parser.add_argument("--seconds", "--duration", "-d", dest="seconds", metavar="SECONDS",
                        help="Clip length in seconds, one the model offers (per shot for a sequence).")
    parser.add_argument("--size", "--resolution", "-s", dest="size", metavar="WxH", help="e.g. 1280x720.")
    parser.add_argument("--fit", choices=("crop", "letterbox"),
                        help="How a reference image of another size is fitted (default: REFERENCE_FIT).")
    if not extras:
        return
    parser.add_argument("--width", type=int, help="Width in pixels (with --height, instead of --size).")
    parser.add_argument("--height", type=int, help="Height in pixels (with --width).")
    group = parser.add_argument_group("extra parameters (sent only where the provider's model accepts them)")
    group.add_argument("--seed", type=int)
    group.add_argument("--negative-prompt", dest="negative_prompt", metavar="TEXT")
    group.add_argument("--fps", type=int)
    group.add_argument("--num-frames", dest="num_frames", type=int)
    group.add_argument("--guidance-scale", dest="guidance_scale", type=float)
    group.add_argument("--num-inference-steps", dest="num_inference_steps", type=int)
    group.add_argument("--param", action="append", metavar="KEY=VALUE", help="Any other extra field; repeatable.")


class Command(BaseCommand):
    help = (
        "Generate videos through the Videos API (Sora 2 and compatible servers) and manage them: generate, "
        "list-models, providers, doctor, status, download, remix, edit, extend, resubmit, delete, batch, sync, "
        "sequence. "
        "Run 'manage.py sora SUBCOMMAND --help' for each one's options; see docs/cli.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)

        p = sub.add_parser("generate", help="Make a video (several images or '||' prompts make a sequence).",
                           description="Make a video from a prompt and optional reference images. Several images "
                           "(or several prompts separated by '||') make a multi-shot sequence, stitched into one MP4.")
        p.add_argument("prompt", nargs="?", help="What to generate. 'shot one || shot two' gives one prompt per shot.")
        p.add_argument("--prompt", "-p", dest="prompt_option", metavar="PROMPT", help="The prompt, as an option.")
        p.add_argument("--image", "-i", action="append", metavar="IMAGES",
                       help="Reference image(s): a comma list and/or globs ('a.jpg,refs/*.png'), in camera order; "
                       "repeatable. Several images make one shot each.")
        p.add_argument("--single", action="store_true", help="Use only the first image: one clip, not a sequence.")
        p.add_argument("--shot-prompts", metavar="FILE", help="One prompt per line, one per shot (instead of PROMPT).")
        p.add_argument("--title", help="Title of the sequence (several shots).")
        p.add_argument("--json", action="store_true", help="Print the job (or sequence) as JSON.")
        p.add_argument("--from", dest="from_file", metavar="PROVENANCE_JSON",
                       help="Make the request recorded in an export's provenance.json again (a new, paid job; its "
                       "reference image must sit beside it). Options given here win.")
        p.add_argument("--yes", action="store_true", help="With --from: confirm the spend without asking.")
        p.add_argument("--project", metavar="NAME", help="The project it belongs to (its budget and approval apply).")
        _request_options(p)
        _user_option(p)
        _wait_options(p)
        _common(p)

        p = sub.add_parser("list-models", help="Models, sizes, seconds and prices per provider.")
        p.add_argument("--provider")
        p.add_argument("--json", action="store_true")
        _common(p)

        p = sub.add_parser("providers", help="What each provider's server can do: settings, learned answers, "
                           "dialect defaults.")
        p.add_argument("--provider")
        p.add_argument("--check", action="store_true", help="Ask GET /models again now.")
        p.add_argument("--no-check", action="store_true", help="Show what is known; ask nothing.")
        p.add_argument("--forget", action="store_true", help="Drop what was learned; the next answers teach it anew.")
        p.add_argument("--json", action="store_true")
        _common(p)

        p = sub.add_parser("doctor", help="Check the database, broker, storage, workers, providers, webhooks and "
                           "cookies; say what to fix. Exit 0 only if all pass.")
        p.add_argument("--url", metavar="URL", help="The site's public address (e.g. https://videos.example.com): "
                       "checks the scheme against secure cookies and prints the webhook URLs in full.")
        p.add_argument("--no-write", action="store_true", help="Do not write a probe object to the storage.")
        p.add_argument("--json", action="store_true")
        _common(p)

        p = sub.add_parser("roles", help="Create the groups Video viewers, Video makers and Video managers "
                           "(idempotent).")
        _common(p)

        p = sub.add_parser("status", help="State of jobs (by id, uuid or remote id); the latest ones without ids.")
        p.add_argument("ids", nargs="*", metavar="ID")
        p.add_argument("--provider", help="Look remote ids up at this provider only.")
        p.add_argument("--refresh", action="store_true", help="Ask the provider for the latest state first.")
        p.add_argument("--limit", type=_positive_int, default=20, help="How many recent jobs without ids (20).")
        p.add_argument("--json", action="store_true", help="Machine-readable output.")
        _common(p)

        p = sub.add_parser("download", help="Save a stored video (or its thumbnail or spritesheet) to a file.")
        p.add_argument("id", metavar="ID")
        p.add_argument("--variant", choices=("video", "thumbnail", "spritesheet"), default="video")
        p.add_argument("--provider", help="Look a remote id up at this provider only.")
        p.add_argument("--output", "-o", metavar="FILE", help="File or folder (default: <uuid>.mp4 etc. here).")
        p.add_argument("--wait", action="store_true", help="Wait for the job first if it is not done.")
        p.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS")
        _common(p)

        for name, helptext in (("remix", "A new video from a completed one with one change."),
                               ("edit", "A new video that edits a completed one."),
                               ("extend", "A continuation of a completed video.")):
            p = sub.add_parser(name, help=helptext)
            p.add_argument("id", metavar="ID", help="The source job (id, uuid or remote id).")
            p.add_argument("prompt", help="What changes (remix, edit) or what happens next (extend).")
            p.add_argument("--provider", help="Look a remote id up at this provider only.")
            if name == "extend":
                p.add_argument("--seconds", "--duration", "-d", dest="seconds", required=True,
                               help="Length of the added segment (4, 8, 12, 16 or 20 where the model allows).")
            p.add_argument("--json", action="store_true")
            _user_option(p)
            _wait_options(p)
            _common(p)

        p = sub.add_parser("resubmit", help="Make a failed (or forgotten) job again as a new, paid job.")
        p.add_argument("id", metavar="ID", help="The job (id, uuid or remote id).")
        p.add_argument("--provider", help="Look a remote id up at this provider only.")
        p.add_argument("--json", action="store_true")
        _user_option(p)
        _wait_options(p)
        _common(p)

        p = sub.add_parser("approve", help="Approve a job awaiting approval (APPROVAL_ABOVE): it is sent, once.")
        p.add_argument("id", metavar="ID", help="The job (id or uuid).")
        p.add_argument("--user", metavar="USERNAME", help="The reviewer who decided (recorded in the history).")
        _common(p)
        p = sub.add_parser("reject", help="Reject a job awaiting approval, with the reason its maker sees.")
        p.add_argument("id", metavar="ID", help="The job (id or uuid).")
        p.add_argument("--reason", required=True, help="What the maker should change.")
        p.add_argument("--user", metavar="USERNAME", help="The reviewer who decided (recorded in the history).")
        _common(p)

        p = sub.add_parser("share", help="Print a link that shows a stored video to anyone, signed out, until it "
                           "expires.")
        p.add_argument("id", metavar="ID", help="The job (id or uuid).")
        p.add_argument("--expires", default="7d", metavar="TIME", help="30m, 12h, 7d, 2w (up to 90d). Default 7d.")
        p.add_argument("--url", metavar="URL", help="The site's address to put in front (default: SITE_URL).")
        _common(p)

        p = sub.add_parser("token", help="API tokens: create (prints it once), list, revoke.")
        tok = p.add_subparsers(dest="token_command", metavar="COMMAND", required=True)
        t = tok.add_parser("create", help="A new token for a user; printed once.")
        t.add_argument("username", metavar="USERNAME")
        t.add_argument("--name", required=True, help="What uses it, e.g. 'n8n automation'.")
        t.add_argument("--days", type=_positive_int, help="It expires after this many days (default: never).")
        _common(t)
        t = tok.add_parser("list", help="Tokens (of one user).")
        t.add_argument("username", nargs="?", metavar="USERNAME")
        _common(t)
        t = tok.add_parser("revoke", help="Refuse a token from now on.")
        t.add_argument("id", type=_positive_int, metavar="ID")
        _common(t)

        p = sub.add_parser("delete", help="Delete jobs at the provider and their stored files.")
        p.add_argument("ids", nargs="+", metavar="ID")
        p.add_argument("--provider", help="Look remote ids up at this provider only.")
        p.add_argument("--noinput", "--no-input", action="store_false", dest="interactive",
                       help="Do not ask for confirmation.")
        _common(p)

        p = sub.add_parser("batch", help="Many videos from a CSV (with header) or JSONL file.",
                           description="Validate every row, report invalid ones by line, submit the valid ones, "
                           "then print a summary. Columns/keys: prompt, image, model, size (or width, height), "
                           "seconds (or duration), provider, fit, and extra parameters such as seed.")
        p.add_argument("file", metavar="FILE")
        p.add_argument("--dry-run", action="store_true", help="Validate and estimate the cost; submit nothing.")
        p.add_argument("--output-dir", metavar="DIR", help="Save each finished MP4 here (implies --wait).")
        _request_options(p, extras=False)
        _user_option(p)
        _wait_options(p, output=False)
        _common(p)

        p = sub.add_parser("sync", help="Import the provider's existing videos and store them while they last.")
        p.add_argument("--provider")
        p.add_argument("--no-download", action="store_true",
                       help="Only import; leave the downloads to the queue (a running qcluster).")
        _common(p)

        p = sub.add_parser("sequence", help="Multi-shot sequences: list, status, retry, replace, stitch, download.")
        seq = p.add_subparsers(dest="sequence_command", metavar="ACTION", required=True)
        s = seq.add_parser("list", help="Recent sequences.")
        s.add_argument("--limit", type=_positive_int, default=20)
        _common(s)
        s = seq.add_parser("status", help="Per-shot state of a sequence.")
        s.add_argument("sequence", metavar="SEQ")
        s.add_argument("--json", action="store_true")
        _common(s)
        for name, helptext in (("retry", "Render a failed shot again as a new job (the others are kept)."),
                               ("replace", "Render a shot from a new prompt, image or length (the others are kept).")):
            s = seq.add_parser(name, help=helptext)
            s.add_argument("sequence", metavar="SEQ")
            s.add_argument("--shot", type=_positive_int, required=True, metavar="N", help="Shot number (1 first).")
            if name == "retry":
                s.add_argument("--force", action="store_true", help="Retry even a completed shot.")
            else:
                s.add_argument("--prompt", "-p", help="The shot's new prompt.")
                s.add_argument("--image", "-i", action="append", metavar="IMAGE", help="The shot's new image.")
                s.add_argument("--no-image", action="store_true", help="Drop the shot's reference image.")
                s.add_argument("--seconds", "--duration", "-d", dest="seconds", help="The shot's new length.")
            _user_option(s)
            _wait_options(s)
            _common(s)
        s = seq.add_parser("stitch", help="Stitch the shots now (normally automatic when the last one is stored).")
        s.add_argument("sequence", metavar="SEQ")
        s.add_argument("--force", action="store_true", help="Stitch again even if the stored video is current.")
        _common(s)
        s = seq.add_parser("download", help="Save the stitched MP4 (or its thumbnail or spritesheet).")
        s.add_argument("sequence", metavar="SEQ")
        s.add_argument("--variant", choices=("video", "thumbnail", "spritesheet"), default="video")
        s.add_argument("--output", "-o", metavar="FILE")
        s.add_argument("--wait", action="store_true")
        s.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT, metavar="SECONDS")
        _common(s)

    def handle(self, *args: Any, **options: Any) -> None:
        if int(options.get("verbosity", 1)) < 2:
            # django-q2 logs every enqueue at INFO to its own "django-q" handler; the command
            # says what it did itself (-v 2 shows the queue's lines again).
            from django_q.conf import logger as queue_logger

            queue_logger.setLevel(max(queue_logger.level, logging.WARNING))
        console = Console(
            self.stdout, self.stderr, verbosity=int(options.get("verbosity", 1)),
            progress=not options.get("no_progress", False),
        )
        run(console, options)
