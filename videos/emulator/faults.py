"""Scriptable faults: rules posted to ``/_emulator/faults`` that disturb matching requests.

Faults are deterministic by default (a rule hits the next ``times`` matching
requests); ``probability`` turns a rule into a random storm drawn from a generator
seeded by ``--fault-seed`` and re-seeded whenever the rules are replaced, so the same
script against the same traffic misbehaves the same way every run.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

#: Endpoints a rule can target (``"*"`` targets all of them).
ENDPOINTS = ("create", "retrieve", "list", "content", "delete", "remix", "edit", "extend", "sync", "models")
#: Endpoints that create a job, the only ones ``fail_job`` applies to.
JOB_ENDPOINTS = frozenset({"create", "remix", "edit", "extend"})

HTTP_FAULTS: dict[str, tuple[int, str, str, str]] = {
    # fault -> (status, error type, error code, message)
    "http_429": (429, "requests", "rate_limit_exceeded", "Rate limit reached for requests (emulated fault)."),
    "http_500": (
        500,
        "server_error",
        "server_error",
        "The server had an error while processing your request (emulated fault).",
    ),
    "http_502": (502, "server_error", "bad_gateway", "Bad gateway (emulated fault)."),
    "http_503": (
        503,
        "server_error",
        "service_unavailable",
        "The server is overloaded or not ready yet (emulated fault).",
    ),
}
FAULTS = frozenset({*HTTP_FAULTS, "slow", "drop_response", "truncate", "fail_job"})

_FIELDS = {
    "endpoint",
    "fault",
    "times",
    "probability",
    "match",
    "delay",
    "retry_after",
    "after_bytes",
    "error_code",
    "message",
    "at_progress",
}


@dataclass
class FaultRule:
    """One rule; ``hits`` counts the requests it has disturbed so far."""

    endpoint: str
    fault: str
    times: int | None = 1
    probability: float = 1.0
    match: dict[str, str] = field(default_factory=dict)
    delay: float = 1.0
    retry_after: float = 1.0
    after_bytes: int | None = None
    error_code: str = "internal_error"
    message: str | None = None
    at_progress: int = 50
    hits: int = 0

    @classmethod
    def from_dict(cls, data: Any) -> FaultRule:
        """Validate one rule as posted by a client; raises ValueError with the reason."""
        if not isinstance(data, Mapping):
            raise ValueError("each fault rule must be a JSON object")
        unknown = set(data) - _FIELDS
        if unknown:
            raise ValueError(f"unknown fault rule field(s): {', '.join(sorted(unknown))}")
        endpoint = data.get("endpoint", "*")
        if endpoint != "*" and endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be '*' or one of {', '.join(ENDPOINTS)}")
        fault = data.get("fault")
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {', '.join(sorted(FAULTS))}")
        if fault == "fail_job" and endpoint != "*" and endpoint not in JOB_ENDPOINTS:
            raise ValueError("fail_job only applies to create, remix, edit and extend")
        rule = cls(endpoint=endpoint, fault=fault)
        rule.times = _optional_int(data, "times", rule.times, minimum=0)
        rule.probability = _number(data, "probability", rule.probability, 0.0, 1.0)
        match = data.get("match") or {}
        if not isinstance(match, Mapping):
            raise ValueError("match must be an object")
        rule.match = {str(key): str(value) for key, value in match.items()}
        rule.delay = _number(data, "delay", rule.delay, 0.0, 600.0)
        rule.retry_after = _number(data, "retry_after", rule.retry_after, 0.0, 86_400.0)
        rule.after_bytes = _optional_int(data, "after_bytes", None, minimum=0)
        rule.error_code = str(data.get("error_code") or rule.error_code)
        rule.message = None if data.get("message") is None else str(data["message"])
        rule.at_progress = int(_number(data, "at_progress", rule.at_progress, 0, 99))
        return rule

    def applies_to(self, endpoint: str) -> bool:
        if self.endpoint not in ("*", endpoint):
            return False
        return self.fault != "fail_job" or endpoint in JOB_ENDPOINTS

    def exhausted(self) -> bool:
        return self.times is not None and self.hits >= self.times

    def matches(self, context: Mapping[str, object]) -> bool:
        return all(str(context.get(key)) == value for key, value in self.match.items())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultBook:
    """The current rules; thread-safe, first matching rule wins."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._random = random.Random(seed)

    def replace(self, rules: list[FaultRule]) -> None:
        with self._lock:
            self._rules = list(rules)
            self._random = random.Random(self._seed)

    def clear(self) -> None:
        self.replace([])

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.to_dict() for rule in self._rules]

    def pick(self, endpoint: str, context: Mapping[str, object]) -> FaultRule | None:
        """The rule that hits this request, if any, counting the hit."""
        with self._lock:
            for rule in self._rules:
                if rule.exhausted() or not rule.applies_to(endpoint) or not rule.matches(context):
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                rule.hits += 1
                return rule
        return None


def parse_rules(payload: Any) -> list[FaultRule]:
    """Rules from a posted body: a list of rules, one rule, or ``{"rules": [...]}``."""
    if isinstance(payload, Mapping) and "rules" in payload:
        payload = payload["rules"]
    if isinstance(payload, Mapping):
        payload = [payload]
    if not isinstance(payload, list):
        raise ValueError("expected a JSON list of fault rules")
    return [FaultRule.from_dict(item) for item in payload]


def _number(data: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = data.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ValueError(f"{key} must be a number between {low:g} and {high:g}")
    return float(value)


def _optional_int(data: Mapping[str, Any], key: str, default: int | None, minimum: int) -> int | None:
    if key not in data:
        return default
    value = data[key]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{key} must be null or an integer >= {minimum}")
    return value
