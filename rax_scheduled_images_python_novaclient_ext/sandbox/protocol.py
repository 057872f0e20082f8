# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""What a route handler receives and returns, and how errors look.

Handlers are plain functions from a `Request` to a `Response`; they raise
`ApiError` for anything a client did wrong. Only `handler.py` touches
sockets.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .state import State

# Nova's fault names by status (nova.api.openstack.wsgi.Fault); Nova uses
# overLimit for both 413 and 429.
FAULT_NAMES = {
    400: "badRequest",
    401: "unauthorized",
    403: "forbidden",
    404: "itemNotFound",
    405: "badMethod",
    409: "conflictingRequest",
    411: "lengthRequired",
    413: "overLimit",
    415: "badMediaType",
    429: "overLimit",
    501: "notImplemented",
    503: "serviceUnavailable",
}

NOT_FOUND = "The resource could not be found."
AUTH_REQUIRED = "The request you have made requires authentication."
MALFORMED = "Malformed request body"

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    411: "Length Required",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ApiError(Exception):
    """An error answer.

    `style` picks the body: "nova" gives `{"badRequest": {...}}`,
    "keystone" gives Keystone v3's `{"error": {...}}`.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        style: str = "nova",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.style = style
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        if self.style == "keystone":
            return {
                "error": {
                    "code": self.status,
                    "title": REASONS.get(self.status, "Error"),
                    "message": self.message,
                }
            }
        name = FAULT_NAMES.get(self.status, "computeFault")
        return {name: {"message": self.message, "code": self.status}}


def not_found(message: str = NOT_FOUND) -> ApiError:
    return ApiError(404, message)


def bad_request(message: str) -> ApiError:
    return ApiError(400, message)


@dataclass
class Request:
    method: str
    # Percent-decoded path segments: an id holding "%2F" stays one segment.
    segments: list[str]
    path: str
    query_string: str
    query: list[tuple[str, str]]
    headers: Mapping[str, str]
    body: bytes
    base_url: str

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def param(self, name: str) -> str | None:
        """The last value of a query parameter, as most servers take it."""
        found = None
        for key, value in self.query:
            if key == name:
                found = value
        return found

    def json(self) -> Any:
        """The body as JSON; a 400 Nova fault when it is not JSON."""
        if not self.body.strip():
            raise bad_request(MALFORMED)
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise bad_request(MALFORMED) from None


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # Set by handlers that change the state, so the server saves it.
    changed: bool = False

    def payload(self) -> bytes:
        if self.body is None:
            return b""
        return json.dumps(self.body).encode()


def method_not_allowed(allowed: str) -> ApiError:
    return ApiError(
        405,
        "The method is not allowed for the requested URL.",
        headers={"Allow": allowed},
    )


def require_method(request: Request, allowed: str) -> None:
    """405 unless the request's method is one of `allowed` ("GET, POST")."""
    if request.method not in {m.strip() for m in allowed.split(",")}:
        raise method_not_allowed(allowed)


@dataclass
class Settings:
    """Server settings that are not part of the saved state."""

    alias: str
    # Nova's osapi_max_limit: the most servers one page holds.
    server_page_max: int = 1000
    # Glance's limit_param_default and api_limit_max.
    image_page_default: int = 25
    image_page_max: int = 1000
    region: str = "RegionOne"
    # An empty second region in the catalog (see regions.py), or None.
    second_region: str | None = None
    # The regions after the first, each with a state of its own (see
    # regionset.py).
    extra_regions: tuple[str, ...] = ()
    # The most a schedule may retain: 65535 in production, 30 early on.
    max_retention: int = 65535


@dataclass
class ProjectCall:
    """One API request under a project's endpoint, as its handler sees
    it: the state, the settings, the request and the token's project."""

    state: State
    settings: Settings
    request: Request
    project_id: str

    def __post_init__(self) -> None:
        """Where a subclass derives what it needs from the request."""


def limit_param(request: Request) -> int | None:
    """The `limit` query parameter; None when it is not given.

    :raises ApiError: 400 when it is not a whole number of 0 or more,
        with the text Nova and Glance both answer.
    """
    text = request.param("limit")
    if text is None:
        return None
    try:
        limit = int(text)
    except ValueError:
        raise bad_request("limit param must be an integer") from None
    if limit < 0:
        raise bad_request("limit param must be positive")
    return limit
