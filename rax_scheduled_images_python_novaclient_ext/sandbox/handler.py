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
"""The sandbox's HTTP side: read a request, route it, write the answer.

Routing: `/identity/...` (Keystone), `/compute/...` (Nova), `/image/...`
(Glance) are the API (`API_ROUTES`); `/sandbox/...` is the admin API
(loopback only, no token, never logged or faulted). Each request is read
whole (up to a size cap), judged by the fault injector, then handled while
holding the sandbox's lock, so handlers see and leave a consistent state;
a handler that changed the state has it saved before the answer goes out.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import socket
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import admin, compute, identity, images, regions, regionset
from .faults import RETRY_LATER_CODES
from .protocol import (
    NOT_FOUND,
    ApiError,
    Request,
    Response,
    Settings,
)
from .state import State

if TYPE_CHECKING:
    from .server import Sandbox

MAX_BODY = 1024 * 1024
INTERNAL_ERROR = (
    "The server has either erred or is incapable of performing the "
    "requested operation."
)
FAULT_MESSAGES = {
    413: "This request was rate-limited.",
    429: "This request was rate-limited.",
    500: INTERNAL_ERROR,
    503: "The server is currently unavailable. Please try again later.",
}
Handler = Callable[[State, Settings, Request, list[str]], Response]
API_ROUTES: dict[str, Handler] = {
    "identity": identity.handle,
    "compute": compute.handle,
    "image": images.handle,
    regions.PREFIX: regions.handle,
}


class _BodyError(Exception):
    """The request body could not be read; the connection must close."""

    def __init__(self, error: ApiError) -> None:
        super().__init__(error.message)
        self.error = error


class HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Quick restarts on the same --port must not fail on TIME_WAIT.
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HTTPServer
    server_version = "ScheduledImagesSandbox/1.0"

    def setup(self) -> None:
        # A client that stops sending must not hold a thread for ever.
        super().setup()
        self.connection.settimeout(self.server.sandbox.request_timeout)
        # Headers and body go out in two writes; without this, Nagle's
        # algorithm and the client's delayed ACK add 40 ms to each answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.sandbox.verbose:
            super().log_message(format, *args)

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        """Protocol-level errors (bad request line, unknown method...)."""
        self.close_connection = True
        # An unparsable request line leaves HTTP/0.9 in place, which would
        # send the body without a status line.
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"
        error = ApiError(code, message or explain or "Bad request")
        self._write(Response(code, error.body(), error.headers))

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # ----- reading --------------------------------------------------------

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            raise _BodyError(
                ApiError(411, "A Content-Length header is required.")
            )
        lengths = self.headers.get_all("Content-Length") or []
        if not lengths:
            return b""
        text = lengths[0].strip()
        if len(set(lengths)) != 1 or not text.isdigit():
            raise _BodyError(ApiError(400, "Invalid Content-Length header."))
        length = int(text)
        if length > self.server.sandbox.max_body:
            raise _BodyError(
                ApiError(413, "Request body is larger than the limit.")
            )
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            body = b""
        if len(body) != length:
            raise _BodyError(ApiError(400, "The request body is incomplete."))
        return body

    def _base_url(self) -> str:
        host = self.headers.get("Host", "")
        if host and all(c not in host for c in "/ \\@?#"):
            return f"http://{host}"
        return self.server.sandbox.url

    # ----- serving --------------------------------------------------------

    def _serve(self) -> None:
        sandbox = self.server.sandbox
        split = urlsplit(self.path)
        # Split before decoding so that an encoded "/" stays in its segment.
        segments = [unquote(s) for s in split.path.split("/")[1:]]
        if segments and segments[-1] == "":
            segments.pop()
        top = segments[0] if segments else ""
        try:
            body = self._read_body()
        except _BodyError as exc:
            self.close_connection = True
            if top != "sandbox":
                sandbox.log_request(
                    self.command, split.path, split.query, exc.error.status
                )
            self._write(self._error(exc.error))
            return
        request = Request(
            method=self.command,
            segments=segments,
            path=split.path,
            query_string=split.query,
            query=parse_qsl(split.query, keep_blank_values=True),
            headers=self.headers,  # type: ignore[arg-type]
            body=body,
            base_url=self._base_url(),
        )
        if top == "sandbox":
            self._write(self._admin(request))
            return
        faulted = top in ("compute", "image", regionset.PREFIX) or (
            top == "identity" and sandbox.faults.settings.fault_identity
        )
        response = self._api(request, faulted)
        logged_body = None if top == "identity" else _json_or_none(body)
        status = 0 if response is None else response.status
        sandbox.log_request(
            self.command, split.path, split.query, status, logged_body
        )
        if response is None:
            # A dropped request: no answer at all, the connection closes.
            self.close_connection = True
            return
        self._write(response)

    def _admin(self, request: Request) -> Response:
        host = self.client_address[0]
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            return self._error(
                ApiError(403, "The admin API answers loopback clients only.")
            )
        return self._dispatch(
            lambda: admin.handle(self.server.sandbox, request)
        )

    def _api(self, request: Request, faulted: bool) -> Response | None:
        sandbox = self.server.sandbox
        settings = sandbox.faults.settings
        if faulted:
            fate = sandbox.faults.draw()
            if settings.latency_ms:
                time.sleep(settings.latency_ms / 1000.0)
            if fate.kind == "drop":
                return None
            if fate.kind == "error":
                return self._error(_injected(fate.code, settings.retry_after))
        region = regionset.region_of(request.segments, sandbox.settings)
        failed = regionset.failure(sandbox.failing_regions, region)
        if failed is not None:
            return self._error(failed)
        forced = regions.forced_answer(sandbox.server_answers, request)
        if forced is not None:
            return self._error(forced)
        state: State | None = sandbox.state
        segments = request.segments
        if segments and segments[0] == regionset.PREFIX:
            # /region/<NAME>/compute/...: that region's own state.
            state = sandbox.region_states.get(region or "")
            segments = segments[2:]
            # Links in answers (a next page) stay in the region.
            request = dataclasses.replace(
                request,
                base_url=f"{request.base_url}/{regionset.PREFIX}/{region}",
            )
            if segments[:1] not in (["compute"], ["image"]):
                state = None
        route = API_ROUTES.get(segments[0]) if segments else None
        if route is None or state is None:
            return self._error(ApiError(404, NOT_FOUND))
        return self._dispatch(
            lambda: route(state, sandbox.settings, request, segments[1:])
        )

    def _dispatch(self, call: Callable[[], Response]) -> Response:
        sandbox = self.server.sandbox
        with sandbox.lock:
            try:
                response = call()
            except ApiError as exc:
                return self._error(exc)
            except Exception:
                traceback.print_exc(file=sys.stderr)
                return self._error(ApiError(500, INTERNAL_ERROR))
            if response.changed:
                sandbox.persist()
            return response

    def _error(self, error: ApiError) -> Response:
        return Response(error.status, error.body(), error.headers)

    def _write(self, response: Response) -> None:
        payload = b"" if response.status in (204, 304) else response.payload()
        try:
            self.send_response(response.status)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            request_id = f"req-{uuid.uuid4()}"
            self.send_header("X-Openstack-Request-Id", request_id)
            self.send_header("X-Compute-Request-Id", request_id)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _json_or_none(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _injected(code: int, retry_after: int) -> ApiError:
    headers = {}
    if code in RETRY_LATER_CODES:
        headers["Retry-After"] = str(retry_after)
    return ApiError(
        code,
        FAULT_MESSAGES.get(code, f"Injected fault {code}."),
        headers=headers,
    )
