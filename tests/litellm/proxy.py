"""A real LiteLLM proxy in front of an emulator in the ``openai`` dialect.

Started like the moto server: a free port, a config written for this run, and the
proxy's own virtualenv (``var/litellm-venv``, made by ``bin/_litellm``). Everything
stays on 127.0.0.1.
"""

from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LITELLM = REPO_ROOT / "var" / "litellm-venv" / "bin" / "litellm"
MASTER_KEY = "sk-litellm-test"
START_TIMEOUT = 120.0

CONFIG = """\
model_list:
  - model_name: sora-2
    litellm_params: {{model: openai/sora-2, api_base: "{base}", api_key: "{key}"}}
  - model_name: sora-2-pro
    litellm_params: {{model: openai/sora-2-pro, api_base: "{base}", api_key: "{key}"}}
general_settings:
  master_key: {master}
litellm_settings:
  num_retries: 0
  request_timeout: 60
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiteLLMProxy:
    """``litellm --config`` as a subprocess; ``base_url`` is its ``/v1``."""

    def __init__(self, backend_url: str, backend_key: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_url = f"{self.url}/v1"
        self.key = MASTER_KEY
        self._dir = tempfile.TemporaryDirectory(prefix="litellm-test-")
        config = Path(self._dir.name) / "config.yaml"
        config.write_text(CONFIG.format(base=backend_url, key=backend_key, master=MASTER_KEY))
        self._log = open(Path(self._dir.name) / "proxy.log", "w+")
        env = {**os.environ, "LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "NO_PROXY": "*",
               "DISABLE_SCHEMA_UPDATE": "true"}
        env.pop("DATABASE_URL", None)  # ours is for Django, not for the proxy
        self._process = subprocess.Popen(
            [str(LITELLM), "--config", str(config), "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=self._dir.name, stdout=self._log, stderr=subprocess.STDOUT, env=env,
        )

    def wait_ready(self) -> LiteLLMProxy:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"the LiteLLM proxy exited ({self._process.returncode}):\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/health/liveliness", timeout=2) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the LiteLLM proxy did not answer within {START_TIMEOUT:.0f} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read()[-4000:]

    def stop(self) -> None:
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._log.close()
        self._dir.cleanup()
