"""The wire contract of every dialect, one row per fact of ``compatible-servers.md``.

Each :class:`Case` is one raw HTTP exchange (no SDK in between, so nothing is smoothed
over) against a job in a known state, and what the real server answers: status code,
body shape, headers. ``source`` says where the fact comes from, so a later change that
drifts back to the spec's shape fails here with the reason.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from videos.emulator.testing import EmulatorProcess

from .helpers import RawResponse, image_bytes, multipart, raw_request

SPEC_KEYS = {"id", "object", "model", "status", "progress", "created_at", "completed_at", "expires_at", "prompt",
             "size", "seconds", "remixed_from_video_id", "error"}
VLLM_KEYS = {"model", "prompt", "id", "object", "status", "size", "progress", "seconds", "quality", "completed_at",
             "created_at", "remixed_from_video_id", "error", "media_type", "expires_at", "file_name",
             "inference_time_s", "stage_durations", "peak_memory_mb"}
SGLANG_KEYS = {"id", "object", "model", "status", "progress", "created_at", "size", "seconds", "quality", "url",
               "remixed_from_video_id", "completed_at", "expires_at", "error", "file_path", "peak_memory_mb",
               "inference_time_s"}
DETAIL_NOT_FOUND = {"detail": "Not Found"}
DETAIL_NOT_ALLOWED = {"detail": "Method Not Allowed"}


@dataclass(frozen=True)
class Case:
    dialect: str
    label: str
    source: str
    method: str
    path: str  # under the base URL; {id} is the prepared job's id
    expect_status: int
    job: str | None = "completed"  # completed | running | failed | None
    query: str = ""
    json_body: dict[str, Any] | None = None
    form: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = None
    auth: str | None = "sk-emulator"
    check: Callable[[RawResponse, str], Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.dialect}: {self.label}"


def is_json(expected: Any) -> Callable[[RawResponse, str], None]:
    def check(response: RawResponse, _: str) -> None:
        assert response.json() == expected, response.body[:400]
    return check


def keys(expected: set[str], **values: Any) -> Callable[[RawResponse, str], None]:
    def check(response: RawResponse, _: str) -> None:
        body = response.json()
        assert set(body) == expected, sorted(set(body) ^ expected)
        for name, value in values.items():
            assert (value(body[name]) if callable(value) else body[name] == value), (name, body[name])
    return check


def openai_error(code: str | None = None) -> Callable[[RawResponse, str], None]:
    def check(response: RawResponse, _: str) -> None:
        error = response.json()["error"]
        assert set(error) >= {"message", "type", "param", "code"} and error["message"]
        if code is not None:
            assert error["code"] == code, error
    return check


def vllm_error(status: int, message: str | None = None, kind: str | None = None) -> Callable[[RawResponse, str], None]:
    """vLLM's handler: ``{"error": {message, type, param, code: <int>}}``."""
    def check(response: RawResponse, _: str) -> None:
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["code"] == status, error
        if message is not None:
            assert message in error["message"], error
        if kind is not None:
            assert error["type"] == kind, error
    return check


def detail(text: str) -> Callable[[RawResponse, str], None]:
    return is_json({"detail": text})


def detail_list(loc: list[str]) -> Callable[[RawResponse, str], None]:
    def check(response: RawResponse, _: str) -> None:
        items = response.json()["detail"]
        assert isinstance(items, list) and items[0]["loc"] == loc and items[0]["msg"], items
    return check


def text(expected: str, content_type: str = "text/plain") -> Callable[[RawResponse, str], None]:
    def check(response: RawResponse, _: str) -> None:
        assert response.headers["content-type"].startswith(content_type)
        assert response.body.decode() == expected
    return check


def media(content_type: str) -> Callable[[RawResponse, str], None]:
    def check(response: RawResponse, _: str) -> None:
        assert response.headers["content-type"] == content_type
        assert int(response.headers["content-length"]) == len(response.body) > 0
    return check


def litellm_wrapped(status: int, fragment: str) -> Callable[[RawResponse, str], None]:
    def check(response: RawResponse, _: str) -> None:
        error = response.json()["error"]
        assert error["code"] == str(status) and fragment in error["message"], error
        assert "OpenAIException - {" in error["message"] and "model group 'sora-2'" in error["message"]
    return check


def litellm_id(value: str) -> bool:
    decoded = base64.b64decode(value.removeprefix("video_")).decode()
    return decoded.startswith("litellm:custom_llm_provider:openai;model_id:sora-2;video_id:video_")


def _fails_with(response: RawResponse, _: str) -> None:
    assert response.json()["error"] == {"message": "Emulated failure"}


def _cancel_needs_retry(response: RawResponse, _: str) -> None:
    assert response.json()["error"]["message"] == "Cancellation in progress"


# -- how each dialect creates the job a case runs against -------------------------------

def create_job(emulator: EmulatorProcess, dialect: str, prompt: str = "A lighthouse in fog") -> str:
    url = emulator.base_url + "/videos"
    if dialect in ("vllm-omni", "tensorrt"):
        body, content_type = multipart({"prompt": prompt, "size": "832x480", "seconds": "2"})
        response = raw_request("POST", url, body=body, headers={"Content-Type": content_type})
    else:
        payload: dict[str, Any] = {"prompt": prompt, "model": "sora-2", "size": "1280x720", "seconds": "4"}
        if dialect == "openrouter":
            payload = {"prompt": prompt, "model": "openai/sora-2", "duration": 2, "resolution": "480p"}
        response = raw_request("POST", url, body=json.dumps(payload).encode(),
                               headers={"Content-Type": "application/json"})
    assert response.status == 200, response.body
    return response.json()["id"]


def prepare(emulator: EmulatorProcess, dialect: str, state: str | None) -> str:
    if state is None:
        if dialect == "litellm":  # an id the proxy can decode, of a video its backend never had
            blob = "litellm:custom_llm_provider:openai;model_id:sora-2;video_id:video_000;deployment_id:0"
            return "video_" + base64.b64encode(blob.encode()).decode()
        return "video_nope"
    if state == "failed":
        emulator.set_faults([{"endpoint": "create", "fault": "fail_job", "message": "Emulated failure",
                              "error_code": "RuntimeError", "at_progress": 0}])
    video_id = create_job(emulator, dialect)
    emulator.clear_faults()
    if state in ("completed", "failed"):
        emulator.complete(video_id)
    return video_id


def exchange(emulator: EmulatorProcess, case: Case, video_id: str) -> RawResponse:
    url = emulator.base_url + case.path.format(id=video_id) + (f"?{case.query.format(id=video_id)}" if case.query else "")
    headers = dict(case.headers)
    body = None
    if case.json_body is not None:
        body, headers["Content-Type"] = json.dumps(case.json_body).encode(), "application/json"
    elif case.form is not None:
        body, headers["Content-Type"] = multipart(case.form, case.files)
    return raw_request(case.method, url, body=body, headers=headers, api_key=case.auth, follow_redirects=False)


PNG = image_bytes(832, 480, fmt="PNG")
