"""Settings of one emulator process, shared by every module of it."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_API_KEY = "sk-emulator"


@dataclass(frozen=True)
class EmulatorConfig:
    """What the command line chose; immutable once the server runs."""

    host: str = "127.0.0.1"
    port: int = 8765
    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    dialect: str = "openai"
    #: What a proxy dialect routes to (LiteLLM: ``openai`` or a non-OpenAI backend).
    backend: str = "openai"
    generation_time: float = 15.0
    asset_ttl: float = 3600.0
    webhook_url: str | None = None
    webhook_secret: str | None = None
    fps: int = 8
    content_padding: int = 0
    render_workers: int = 2
    #: False: jobs are never rendered, so they never complete (many jobs in flight, cheaply).
    render: bool = True
    fault_seed: int = 0
    quiet: bool = False

    @property
    def poll_after_ms(self) -> int:
        """Polling hint: about a tenth of a job's duration, between 100 ms and 10 s."""
        return max(100, min(10_000, int(self.generation_time * 100)))
