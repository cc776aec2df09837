"""Spec-driven fuzzing with schemathesis: every answer must conform to the OpenAPI document.

The document is the reference copy beside the repository (``../shared/reference``),
plus what the emulator documents on top of it: the OpenAI error body for 4xx
answers and JPEG for the spritesheet variant (the spec lists only MP4 and WebP).
The deprecated ``characters`` endpoints are not served and not fuzzed.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from openai.types import Video
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

SPEC = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "openai-videos-openapi.yaml"
if not SPEC.exists():
    pytest.skip(f"OpenAPI reference not found at {SPEC.resolve()}", allow_module_level=True)

ERROR_STATUSES = ("400", "401", "404", "405", "413")


def served_document(raw: dict[str, Any]) -> dict[str, Any]:
    """The reference document, narrowed to what the emulator serves and documents."""
    document = copy.deepcopy(raw)
    document["paths"] = {path: item for path, item in document["paths"].items() if "characters" not in path}
    document["components"]["schemas"]["ErrorResponse"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "type", "param", "code"],
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "param": {"type": ["string", "null"]},
                    "code": {"type": ["string", "null"]},
                },
            }
        },
    }
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
    for item in document["paths"].values():
        for operation in item.values():
            for status in ERROR_STATUSES:
                operation["responses"][status] = {"description": "Error", **copy.deepcopy(error)}
    content = document["paths"]["/videos/{video_id}/content"]["get"]["responses"]["200"]["content"]
    content["image/jpeg"] = {"schema": {"type": "string", "format": "binary"}}
    return document


schema = schemathesis.openapi.from_dict(served_document(yaml.safe_load(SPEC.read_text())))
#: Not ``negative_data_rejection``: like many servers the emulator ignores unknown query parameters.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzzed(emulator_pool):
    """Jobs created by the fuzzer fail before rendering, so fuzzing costs no CPU for video."""
    emulator = emulator_pool.get(generation_time=60)
    emulator.set_faults([{"endpoint": "*", "fault": "fail_job", "times": None, "at_progress": 99}])
    return emulator


@schema.parametrize()
@settings(max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_responses_conform_to_the_spec(case, fuzzed):
    case.call_and_validate(
        base_url=fuzzed.base_url,
        headers={"Authorization": f"Bearer {fuzzed.api_key}"},
        checks=CHECKS,
        timeout=30,
    )


def test_a_real_workflow_conforms_to_the_spec(emulator):
    """Fuzzing rarely reaches a completed video; this walks every operation through one."""
    sdk = emulator.client()

    def check(path: str, method: str, raw) -> None:
        raw.http_response.request.read()  # multipart requests are streams; schemathesis wants the bytes
        schema[path][method].validate_response(raw.http_response)

    created = sdk.videos.with_raw_response.create(prompt="A glass of water on a table", size="1280x720")
    check("/videos", "POST", created)
    video_id = created.parse().id
    check("/videos/{video_id}", "GET", sdk.videos.with_raw_response.retrieve(video_id))
    emulator.complete(video_id)
    check("/videos/{video_id}", "GET", sdk.videos.with_raw_response.retrieve(video_id))
    check("/videos", "GET", sdk.videos.with_raw_response.list())
    for variant in ("video", "thumbnail", "spritesheet"):
        check(
            "/videos/{video_id}/content",
            "GET",
            sdk.videos.with_raw_response.download_content(video_id, variant=variant),
        )
    check("/videos/{video_id}/remix", "POST", sdk.videos.with_raw_response.remix(video_id, prompt="Now with ice"))
    raw = {"headers": {"X-Stainless-Raw-Response": "true"}}  # what with_raw_response does
    edit = {"video": {"id": video_id}, "prompt": "Tinted"}
    check("/videos/edits", "POST", sdk.post("/videos/edits", body=edit, cast_to=Video, options=raw))
    extension = {"video": {"id": video_id}, "prompt": "It spills", "seconds": "4"}
    check("/videos/extensions", "POST", sdk.post("/videos/extensions", body=extension, cast_to=Video, options=raw))
    check("/videos/{video_id}", "DELETE", sdk.videos.with_raw_response.delete(video_id))
