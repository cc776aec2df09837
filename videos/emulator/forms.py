"""Request bodies -> one nested dict, whatever the encoding.

The SDK sends ``videos.create/edit/extend`` as multipart/form-data even without a
file and flattens nested objects into bracketed names (``video[id]``); ``remix`` and
most other clients send JSON. Decoding all of them to the same shape lets the API
code validate once.
"""

from __future__ import annotations

import email.policy
import json
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser
from typing import Any
from urllib.parse import parse_qsl

_KEY_PATH = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_HEADER_PARSER = BytesHeaderParser(policy=email.policy.HTTP)


class BodyError(ValueError):
    """The body cannot be decoded; the message is shown to the client."""


@dataclass(frozen=True)
class UploadedFile:
    """A multipart part that came with a filename."""

    filename: str
    content_type: str | None
    data: bytes


def parse_body(content_type: str | None, body: bytes) -> tuple[dict[str, Any], str]:
    """Decode ``body``; returns the fields and the encoding (json, multipart, form, empty)."""
    media_type, params = _media_type(content_type)
    if not body and media_type != "multipart/form-data":
        return {}, "empty"
    if media_type == "application/json" or (media_type is None and body.lstrip()[:1] == b"{"):
        return _parse_json(body), "json"
    if media_type == "multipart/form-data":
        boundary = params.get("boundary")
        if not boundary:
            raise BodyError("multipart/form-data body without a boundary parameter")
        return _nest(_parse_multipart(body, boundary.encode("latin-1"))), "multipart"
    if media_type == "application/x-www-form-urlencoded":
        return _nest(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)), "form"
    raise BodyError(f"Unsupported Content-Type {media_type!r}; send application/json or multipart/form-data.")


def _media_type(content_type: str | None) -> tuple[str | None, dict[str, str]]:
    if not content_type:
        return None, {}
    message = Message()
    message["content-type"] = content_type
    params = {key.lower(): str(value) for key, value in message.get_params()[1:]}
    return message.get_content_type(), params


def _parse_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BodyError(f"We could not parse the JSON body of your request: {exc}") from None
    if not isinstance(data, dict):
        raise BodyError("The JSON body must be an object.")
    return data


def _parse_multipart(body: bytes, boundary: bytes) -> list[tuple[str, Any]]:
    """Split on CRLF--boundary (RFC 7578); part headers go through the email parser."""
    sections = (b"\r\n" + body).split(b"\r\n--" + boundary)
    if len(sections) < 2:
        raise BodyError("multipart body does not contain its boundary")
    fields: list[tuple[str, Any]] = []
    for section in sections[1:]:
        if section.startswith(b"--"):
            return fields
        head, separator, data = section.partition(b"\r\n\r\n")
        if not separator:
            raise BodyError("malformed multipart part (no blank line after its headers)")
        headers = _HEADER_PARSER.parsebytes(head.lstrip(b" \t").removeprefix(b"\r\n") + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise BodyError("multipart part without a name")
        filename = headers.get_filename()
        if filename is not None:
            fields.append((name, UploadedFile(filename, headers.get_content_type(), data)))
            continue
        try:
            fields.append((name, data.decode("utf-8")))
        except UnicodeDecodeError:
            raise BodyError(f"multipart field {name!r} is not UTF-8 text") from None
    raise BodyError("multipart body is not terminated by its closing boundary")


def _nest(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``[("video[id]", "x")]`` -> ``{"video": {"id": "x"}}``; later values win."""
    result: dict[str, Any] = {}
    for name, value in pairs:
        match = _KEY_PATH.match(name)
        keys = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))] if match else [name]
        target = result
        for key in keys[:-1]:
            child = target.get(key)
            if not isinstance(child, dict):
                child = target[key] = {}
            target = child
        target[keys[-1]] = value
    return result
