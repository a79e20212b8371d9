"""Holds every /api response the suite receives to docs/openapi.yaml.

One validator per session: `OpenAPIChecker.check(method, url_or_path, status, headers, body)`
raises `ResponseNotDocumented` when the status is not documented for that path and method, a
documented header is missing, or the JSON body does not match the response's schema (JSON Schema
Draft 2020-12, `$ref`s resolved inside the OpenAPI document through a `referencing` registry).

Paths are matched on the raw request target, segment by segment, each segment percent-decoded
after splitting (as plugind does), so `/api/operations/%2F` is one segment, not two.
"""

from __future__ import annotations

import collections
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping
from urllib.parse import unquote_to_bytes, urlsplit

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_URI = "urn:plugind:openapi"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
UNKNOWN_PATH = "<path not in the spec>"


class ResponseNotDocumented(AssertionError):
    """A response that docs/openapi.yaml does not allow."""


def pointer_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def load_spec(path: Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def resolve_local(spec: Mapping, ref: str) -> Any:
    """Follows a local `#/...` reference inside the document."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local references are supported, not {ref!r}")
    node: Any = spec
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[token]
    return node


def decode_segments(raw_path: str) -> list[str] | None:
    """plugind's split: drop the leading '/', one trailing '/', then percent-decode each segment.
    None when a segment is not valid percent-encoded UTF-8."""
    parts = raw_path.split("/")[1:]
    if parts and parts[-1] == "":
        parts = parts[:-1]
    out = []
    for part in parts:
        try:
            out.append(unquote_to_bytes(part).decode("utf-8"))
        except UnicodeDecodeError:
            return None
    return out


@dataclass
class Template:
    text: str
    segments: list[str]
    item: dict
    rest_parameter: str | None = None

    def matches(self, segments: list[str]) -> bool:
        i = 0
        for part in self.segments:
            if part.startswith("{") and part.endswith("}"):
                if i >= len(segments) or segments[i] == "":
                    return False
                if self.rest_parameter == part[1:-1]:
                    return True
                i += 1
            else:
                if i >= len(segments) or segments[i] != part:
                    return False
                i += 1
        return i == len(segments)

    @property
    def specificity(self) -> list[int]:
        return [1 if s.startswith("{") else 2 for s in self.segments]


@dataclass
class Outcome:
    method: str
    template: str
    status: int


@dataclass
class OpenAPIChecker:
    spec_path: Path
    spec: dict = field(init=False)
    registry: Registry = field(init=False)
    templates: list[Template] = field(init=False)
    seen: collections.Counter = field(init=False, default_factory=collections.Counter)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)
    _validators: dict = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.spec = load_spec(self.spec_path)
        resource = Resource.from_contents(self.spec, default_specification=DRAFT202012)
        self.registry = Registry().with_resource(SPEC_URI, resource)
        self.templates = []
        for text, item in self.spec.get("paths", {}).items():
            self.templates.append(
                Template(text, text.strip("/").split("/"), item, item.get("x-rest-parameter"))
            )
        # Literal segments outrank parameters (as in plugind's router).
        self.templates.sort(key=lambda t: t.specificity, reverse=True)

    # --- lookup -------------------------------------------------------------------------------

    def template_for(self, raw_path: str) -> Template | None:
        segments = decode_segments(raw_path)
        if segments is None:
            return None
        for template in self.templates:
            if template.matches(segments):
                return template
        return None

    def documented_operations(self) -> Iterable[tuple[str, str, int]]:
        for text, item in self.spec.get("paths", {}).items():
            for method in HTTP_METHODS:
                if method in item:
                    for status in item[method].get("responses", {}):
                        if str(status).isdigit():
                            yield method.upper(), text, int(status)

    def _responses_for(self, method: str, raw_path: str) -> tuple[str, str, Mapping, str]:
        """(template text, method key, responses map, pointer to the responses map)."""
        template = self.template_for(raw_path)
        if template is None:
            return UNKNOWN_PATH, method, self.spec["x-unknown-path-responses"], "#/x-unknown-path-responses"
        key = method.lower()
        if key == "head" and "head" not in template.item and "get" in template.item:
            key = "get"  # HEAD is GET without the body
        if key in template.item:
            pointer = f"#/paths/{pointer_escape(template.text)}/{key}/responses"
            return template.text, key, template.item[key]["responses"], pointer
        return template.text, key, self.spec["x-unlisted-method-responses"], "#/x-unlisted-method-responses"

    def _schema_validator(self, pointer: str) -> jsonschema.protocols.Validator:
        with self._lock:
            validator = self._validators.get(pointer)
            if validator is None:
                validator = jsonschema.Draft202012Validator(
                    {"$ref": SPEC_URI + pointer},
                    registry=self.registry,
                    format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
                )
                self._validators[pointer] = validator
            return validator

    # --- the check ----------------------------------------------------------------------------

    def check(
        self,
        method: str,
        url: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
    ) -> Outcome | None:
        """Validates one response; returns what was validated, or None for a path outside /api."""
        parts = urlsplit(url)
        raw_path = parts.path if (parts.scheme or parts.netloc) else url.split("?", 1)[0]
        if not (raw_path == "/api" or raw_path.startswith("/api/")):
            return None
        method = method.upper()
        lower_headers = {k.lower(): v for k, v in headers.items()}
        template, key, responses, pointer = self._responses_for(method, raw_path)
        where = f"{method} {raw_path} → {status} (matched {template}, {key})"

        status_key = str(status)
        if status_key not in responses:
            # YAML may have parsed an unquoted status as an int.
            if status not in responses:
                raise ResponseNotDocumented(
                    f"{where}: status {status} is not documented; documented: "
                    f"{sorted(str(s) for s in responses)}; body: {body[:300]!r}"
                )
            status_key = status  # type: ignore[assignment]
        response = responses[status_key]
        response_pointer = f"{pointer}/{pointer_escape(str(status_key))}"
        while "$ref" in response:
            response_pointer = response["$ref"]
            response = resolve_local(self.spec, response["$ref"])

        # Documented, required headers.
        for name, header in (response.get("headers") or {}).items():
            if "$ref" in header:
                header = resolve_local(self.spec, header["$ref"])
            if header.get("required") and name.lower() not in lower_headers:
                raise ResponseNotDocumented(f"{where}: the documented header {name} is missing")
            if name.lower() in lower_headers and "schema" in header:
                try:
                    self._schema_validator(
                        self._header_schema_pointer(response_pointer, name)
                    ).validate(lower_headers[name.lower()])
                except jsonschema.ValidationError as error:
                    raise ResponseNotDocumented(f"{where}: header {name}: {error.message}") from None

        content = response.get("content")
        is_head = method == "HEAD"
        if not content:
            if body and not is_head:
                raise ResponseNotDocumented(f"{where}: documented without a body, got {body[:200]!r}")
        elif is_head:
            if body:
                raise ResponseNotDocumented(f"{where}: a HEAD response has a body: {body[:200]!r}")
        else:
            content_type = lower_headers.get("content-type", "")
            media = content_type.split(";")[0].strip().lower()
            if media not in content:
                raise ResponseNotDocumented(
                    f"{where}: Content-Type {content_type!r} is not documented ({sorted(content)})"
                )
            try:
                # GET /api/metrics answers Prometheus' text format: its body is checked as one string.
                text = body.decode("utf-8")
                document = text if media == "text/plain" else json.loads(text)
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise ResponseNotDocumented(f"{where}: the body is not JSON ({error}): {body[:300]!r}") from None
            if "schema" not in content[media]:
                raise ResponseNotDocumented(f"{where}: no schema documented for {media}")
            schema_pointer = f"{response_pointer}/content/{pointer_escape(media)}/schema"
            errors = sorted(
                self._schema_validator(schema_pointer).iter_errors(document),
                key=lambda e: list(e.absolute_path),
            )
            if errors:
                details = "; ".join(
                    f"at /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]
                )
                raise ResponseNotDocumented(f"{where}: the body does not match the schema: {details}\nbody: {document!r}")

        outcome = Outcome(method, template, status)
        with self._lock:
            self.seen[(method, template, status)] += 1
        return outcome

    def _header_schema_pointer(self, response_pointer: str, name: str) -> str:
        header = resolve_local(self.spec, response_pointer)["headers"][name]
        if "$ref" in header:
            return header["$ref"] + "/schema"
        return f"{response_pointer}/headers/{pointer_escape(name)}/schema"
