"""The command line: flags, the management command, startup line, clean shutdown, no Django."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import pytest

from videos.emulator import cli
from videos.emulator.config import EmulatorConfig
from videos.emulator.testing import REPO_ROOT, EmulatorProcess

from .helpers import raw_request


def run_python(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    return subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_emulator_never_imports_django():
    code = (
        "import sys, videos.emulator.cli, videos.emulator.server, videos.emulator.testing\n"
        "leaked = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.'))\n"
        "assert not leaked, leaked\n"
    )
    result = run_python("-c", code)
    assert result.returncode == 0, result.stderr


def test_defaults_match_the_documented_ones():
    options = vars(cli.build_parser().parse_args([]))
    assert cli.config_from_options(options) == EmulatorConfig()
    assert EmulatorConfig() == EmulatorConfig(
        host="127.0.0.1",
        port=8765,
        api_keys=("sk-emulator",),
        dialect="openai",
        generation_time=15,
        asset_ttl=3600,
        fps=8,
        content_padding=0,
        fault_seed=0,
    )


def test_flags_build_the_config():
    args = [
        "--port",
        "0",
        "--api-key",
        "sk-a",
        "--api-key",
        "sk-b",
        "--dialect",
        "gateway",
        "--generation-time",
        "2.5",
        "--asset-ttl",
        "60",
        "--fps",
        "12",
        "--content-padding",
        "1048576",
        "--render-workers",
        "3",
        "--fault-seed",
        "9",
        "--quiet",
        "--webhook-url",
        "http://127.0.0.1:1/h",
        "--webhook-secret",
        "whsec_AAAA",
    ]
    config = cli.config_from_options(vars(cli.build_parser().parse_args(args)))
    assert config.api_keys == ("sk-a", "sk-b") and config.dialect == "gateway" and config.quiet
    assert (config.generation_time, config.asset_ttl, config.fps, config.content_padding) == (2.5, 60, 12, 1048576)
    assert (config.render_workers, config.fault_seed, config.webhook_secret) == (3, 9, "whsec_AAAA")


@pytest.mark.parametrize(
    "args",
    [
        ["--dialect", "bedrock"],
        ["--fps", "0"],
        ["--content-padding", "5"],
        ["--webhook-url", "http://x"],
        ["--webhook-url", "http://x", "--webhook-secret", "nope"],
    ],
)
def test_bad_flags_exit_with_usage(args, capsys):
    with pytest.raises(SystemExit) as caught:
        cli.main(args)
    assert caught.value.code == 2 and "usage:" in capsys.readouterr().err


def test_management_command_shares_the_flags():
    from videos.management.commands.sora_emulator import Command

    parser = Command().create_parser("manage.py", "sora_emulator")
    options = vars(parser.parse_args(["--dialect", "sglang", "--port", "0", "--api-key", "sk-x"]))
    config = cli.config_from_options(options)
    assert (config.dialect, config.port, config.api_keys) == ("sglang", 0, ("sk-x",))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_prints_one_line_and_stops_cleanly_on_signals(sig):
    emulator = EmulatorProcess(dialect="litellm").start()
    process = emulator._process
    assert emulator.base_url.startswith("http://127.0.0.1:") and emulator.base_url.endswith("/v1")
    assert raw_request("GET", f"{emulator.url}/health", api_key=None).json() == {"status": "ok", "dialect": "litellm"}
    process.send_signal(sig)
    assert process.wait(timeout=10) == 0
    assert process.stdout.read() == ""  # nothing after the listening line
    emulator.stop()


def test_a_taken_port_is_reported():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = run_python("-m", "videos.emulator", "--port", str(taken.getsockname()[1]))
    assert result.returncode == 1 and "cannot listen" in result.stderr and result.stdout == ""


def test_manage_py_runs_the_same_emulator():
    if not (REPO_ROOT / "manage.py").exists():
        pytest.skip("no manage.py in this checkout")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "sora_emulator", "--port", "0", "--quiet", "--dialect", "vllm-omni"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("Sora emulator (dialect vllm-omni) listening on http://127.0.0.1:"), (
            process.stderr.read()
        )
        url = line.split(" on ")[1].strip().removesuffix("/v1")
        assert raw_request("GET", f"{url}/health", api_key=None).status == 200
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()
