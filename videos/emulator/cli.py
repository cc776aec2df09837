"""Command line of the emulator, shared by ``python -m videos.emulator`` and ``manage.py sora_emulator``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from videos.emulator.config import DEFAULT_API_KEY, EmulatorConfig
from videos.emulator.dialects import BACKENDS, dialect_names
from videos.emulator.render import valid_padding
from videos.emulator.server import EmulatorServer
from videos.emulator.webhooks import decode_secret


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the emulator's flags to ``parser`` (argparse or Django's CommandParser)."""
    defaults = EmulatorConfig()
    parser.add_argument("--host", default=defaults.host, help="interface to bind (default %(default)s)")
    parser.add_argument(
        "--port", type=_bounded(int, 0, 65535), default=defaults.port, help="0 picks a free port (default %(default)s)"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        dest="api_key",
        metavar="KEY",
        help=f"accepted bearer key; repeatable (default {DEFAULT_API_KEY})",
    )
    parser.add_argument(
        "--dialect", choices=dialect_names(), default=defaults.dialect, help="server to imitate (default %(default)s)"
    )
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=defaults.backend,
        help="what the litellm dialect routes to; a non-OpenAI backend reports 'processing' (default %(default)s)",
    )
    parser.add_argument(
        "--generation-time",
        type=_bounded(float, 0, 86_400),
        default=defaults.generation_time,
        metavar="SECONDS",
        help="wall time a job takes (default %(default)s)",
    )
    parser.add_argument(
        "--asset-ttl",
        type=_bounded(float, 0.001, 10**9),
        default=defaults.asset_ttl,
        metavar="SECONDS",
        help="content lifetime after completion (default %(default)s)",
    )
    parser.add_argument("--webhook-url", help="POST video.completed / video.failed events here")
    parser.add_argument(
        "--webhook-secret", metavar="whsec_...", help="Standard Webhooks signing secret (needed with --webhook-url)"
    )
    parser.add_argument(
        "--fps", type=_bounded(int, 1, 60), default=defaults.fps, help="output frame rate (default %(default)s)"
    )
    parser.add_argument(
        "--content-padding",
        type=_bounded(int, 0, 2**62),
        default=defaults.content_padding,
        metavar="BYTES",
        help="append an MP4 free box of BYTES (0 or >= 8) to every MP4, streamed (default 0)",
    )
    parser.add_argument(
        "--render-workers",
        type=_bounded(int, 1, 64),
        default=defaults.render_workers,
        metavar="N",
        help="renders running at once (default %(default)s)",
    )
    parser.add_argument(
        "--no-render",
        action="store_true",
        help="never render: jobs stay in progress (for thousands of jobs in flight without the CPU)",
    )
    parser.add_argument(
        "--fault-seed",
        type=int,
        default=defaults.fault_seed,
        help="seed for probabilistic faults (default %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="no access log on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m videos.emulator", description="Local emulator of the OpenAI Videos API (Sora 2)."
    )
    add_arguments(parser)
    return parser


def config_from_options(options: Mapping[str, Any]) -> EmulatorConfig:
    """Parsed flags -> config; ValueError explains an invalid combination."""
    if bool(options.get("webhook_url")) != bool(options.get("webhook_secret")):
        raise ValueError("--webhook-url and --webhook-secret go together")
    if options.get("webhook_secret"):
        decode_secret(options["webhook_secret"])
    if not valid_padding(options["content_padding"]):
        raise ValueError("--content-padding must be 0 or at least 8 (the free box header)")
    return EmulatorConfig(
        host=options["host"],
        port=options["port"],
        api_keys=tuple(options.get("api_key") or (DEFAULT_API_KEY,)),
        dialect=options["dialect"],
        backend=options.get("backend") or "openai",
        generation_time=options["generation_time"],
        asset_ttl=options["asset_ttl"],
        webhook_url=options.get("webhook_url") or None,
        webhook_secret=options.get("webhook_secret") or None,
        fps=options["fps"],
        content_padding=options["content_padding"],
        render_workers=options["render_workers"],
        render=not options.get("no_render"),
        fault_seed=options["fault_seed"],
        quiet=bool(options.get("quiet")),
    )


def run(config: EmulatorConfig, out: TextIO | None = None) -> int:
    """Serve until SIGTERM or SIGINT; prints the one "listening" line tests wait for."""
    out = out or sys.stdout
    try:
        server = EmulatorServer(config)
    except OSError as exc:
        print(f"sora emulator: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="http", daemon=True)
    try:
        server.start_background()
        thread.start()
        print(f"Sora emulator (dialect {config.dialect}) listening on {server.base_url}", file=out, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        if thread.is_alive():
            server.shutdown()
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    try:
        config = config_from_options(vars(options))
    except ValueError as exc:
        parser.error(str(exc))
    return run(config)


def _bounded(kind: type, low: float, high: float) -> Any:
    """An argparse ``type`` that also checks the range."""

    def convert(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind.__name__}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low:g} and {high:g}")
        return value

    convert.__name__ = kind.__name__
    return convert
