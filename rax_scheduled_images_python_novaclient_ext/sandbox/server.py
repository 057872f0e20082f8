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
"""The sandbox's HTTP server and the `Sandbox` class that runs it.

Routing: `/identity/...` (Keystone), `/compute/...` (Nova), `/image/...`
(Glance) are the API; `/sandbox/...` is the admin API (loopback only, no
token, never logged or faulted). Each request is read whole (up to a size
cap), judged by the fault injector, then handled while holding the
sandbox's lock, so handlers see and leave a consistent state; a handler
that changed the state has it saved before the answer goes out.
"""

from __future__ import annotations

import datetime as dt
import gc
import ipaddress
import json
import os
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import admin, compute, identity, images, persistence, regions
from .faults import (
    DEFAULT_FAULT_CODES,
    RETRY_LATER_CODES,
    FaultInjector,
    FaultSettings,
)
from .model import (
    ALIASES,
    DEFAULT_MAX_RETENTION,
    OS_SI_ALIAS,
    format_time,
    parse_time,
)
from .protocol import (
    NOT_FOUND,
    ApiError,
    Request,
    Response,
    Settings,
)
from .scheduler import TickReport, tick
from .seed import SEED_USERS, SeedUser, build_state
from .state import State

MAX_BODY = 1024 * 1024
# A state of this many servers and images or more is moved out of the
# cyclic garbage collector's reach once built (see `_settle`).
SETTLE_AT = 10_000
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


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Quick restarts on the same --port must not fail on TIME_WAIT.
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer
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
        faulted = top in ("compute", "image") or (
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
        forced = regions.forced_answer(sandbox.server_answers, request)
        if forced is not None:
            return self._error(forced)
        segments = request.segments
        route = API_ROUTES.get(segments[0]) if segments else None
        if route is None:
            return self._error(ApiError(404, NOT_FOUND))
        return self._dispatch(
            lambda: route(
                sandbox.state, sandbox.settings, request, segments[1:]
            )
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


def _settle(state: State) -> None:
    """Keep a large state out of the cyclic garbage collector's passes.

    The state is long-lived and holds no cycles, but a full collection
    walks every object in it: about 90 ms at 10,000 servers and 100,000
    images, landing on whichever request happens to trigger it. Freezing
    the objects alive now (the state among them) takes them out of every
    later pass; they are still freed as usual when nothing refers to
    them any more (e.g. after `reset`).
    """
    if len(state.servers) + len(state.images) < SETTLE_AT:
        return
    gc.collect()
    gc.freeze()


class Sandbox:
    """A local stand-in for a cloud serving Scheduled Images.

    Runs an HTTP server on a daemon thread. Use as a context manager or
    call `start()` and `stop()`. `state` is the live data (hold `lock`
    while changing it from outside a request); `tick()` runs the service's
    daily job; `requests` is the log of API requests received.
    """

    def __init__(
        self,
        *,
        alias: str = OS_SI_ALIAS,
        seed: int = 0,
        servers: int = 0,
        scheduled: int = 0,
        images: int = 0,
        state_file: str | os.PathLike[str] | None = None,
        latency_ms: int = 0,
        fault_rate: float = 0.0,
        drop_rate: float = 0.0,
        fault_codes: tuple[int, ...] = DEFAULT_FAULT_CODES,
        retry_after: int = 1,
        fault_identity: bool = False,
        max_retention: int = DEFAULT_MAX_RETENTION,
        clock: str | dt.datetime | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_body: int = MAX_BODY,
        request_timeout: float = 10.0,
        server_page_max: int = 1000,
        verbose: bool = False,
        second_region: str | None = None,
    ) -> None:
        if alias not in ALIASES:
            raise ValueError(f"alias must be one of {', '.join(ALIASES)}")
        if max_retention < 1:
            raise ValueError("max_retention must be at least 1")
        self.alias = alias
        self.seed = seed
        self.fleet = (servers, scheduled, images)
        self.state_file = os.fspath(state_file) if state_file else None
        self.host = host
        self.port = port
        self.max_body = max_body
        self.request_timeout = request_timeout
        self.verbose = verbose
        self.settings = Settings(
            alias=alias,
            server_page_max=server_page_max,
            max_retention=max_retention,
            second_region=second_region,
        )
        self.faults = FaultInjector(
            FaultSettings(
                seed=seed,
                fault_rate=fault_rate,
                drop_rate=drop_rate,
                fault_codes=tuple(fault_codes),
                retry_after=retry_after,
                latency_ms=latency_ms,
                fault_identity=fault_identity,
            )
        )
        self._clock = parse_time(clock) if isinstance(clock, str) else clock
        self.lock = threading.RLock()
        self._log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self.load_warning: str | None = None
        # Server id -> the status GET /servers/{id} answers instead.
        self.server_answers: dict[str, int] = {}
        self.state = self._initial_state()
        _settle(self.state)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ----- state ----------------------------------------------------------

    @property
    def _state_path(self) -> str | None:
        """Where the state is written: through a symlink, its target.

        Saving replaces the file by a rename, which would replace the
        user's link itself.
        """
        return os.path.realpath(self.state_file) if self.state_file else None

    def _fresh_state(self) -> State:
        servers, scheduled, images = self.fleet
        try:
            return build_state(
                seed=self.seed,
                servers=servers,
                scheduled=scheduled,
                images=images,
                clock=self._clock,
            )
        except OverflowError:
            # Only a clock near the year 1 gets here: the seeded images
            # are dated up to 400 days before it.
            raise ValueError(
                f"the clock {format_time(self._clock or dt.datetime.now())} "
                "leaves no room for the seeded "
                "images, dated up to 400 days earlier: choose a later time"
            ) from None

    def _initial_state(self) -> State:
        """The saved state when there is a usable one, else a fresh seed.

        An unreadable file is kept aside as `<file>.corrupt` (or
        `.corrupt.N`, never over an existing file) rather than overwritten,
        so whatever it held can still be looked at. A path that exists but
        is not a regular file (a directory, a fifo) is refused: it is not
        a state file, and nothing of it is moved or replaced.

        :raises ValueError: for such a path.
        """
        path = self._state_path
        if self.state_file:
            check_state_file(self.state_file)
        if path and os.path.exists(path):
            try:
                state = persistence.load(path)
            except (OSError, ValueError) as exc:
                aside = _free_name(path + ".corrupt")
                os.replace(path, aside)
                self.load_warning = (
                    f"state file {self.state_file} is unusable ({exc}); "
                    "moved to "
                    f"{aside} and started from a fresh seed"
                )
                print(f"warning: {self.load_warning}", file=sys.stderr)
            else:
                if self._clock is not None:
                    state.clock = self._clock
                return state
        state = self._fresh_state()
        if path:
            persistence.save(state, path)
        return state

    def persist(self) -> None:
        """Save the state when a state file is configured."""
        if self._state_path:
            with self.lock:
                persistence.save(self.state, self._state_path)

    def reset(self) -> None:
        """Throw away every change and start again from the seed."""
        with self.lock:
            self.state = self._fresh_state()
            _settle(self.state)
            self.persist()

    def tick(self, days: int = 1) -> TickReport:
        """Run the service's daily job `days` times (see scheduler.tick).

        :raises ValueError: when the clock would pass the year 9999;
            nothing is done then.
        """
        with self.lock:
            try:
                self.state.clock + dt.timedelta(days=days)
            except OverflowError:
                raise ValueError(
                    f"{days} day{'' if days == 1 else 's'} after "
                    f"{format_time(self.state.clock)} is past the year 9999"
                ) from None
            report = tick(self.state, days)
            self.persist()
        return report

    def set_clock(self, value: str | dt.datetime) -> None:
        with self.lock:
            self.state.clock = (
                parse_time(value) if isinstance(value, str) else value
            )
            self.persist()

    # ----- request log ----------------------------------------------------

    def log_request(
        self,
        method: str,
        path: str,
        query: str,
        status: int,
        body: Any = None,
    ) -> None:
        entry = {
            "method": method,
            "path": path,
            "query": query,
            "status": status,
            "body": body,
        }
        with self._log_lock:
            self._log.append(entry)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """API requests so far: method, path, query, status (0 = dropped)
        and the JSON body (None for identity calls and non-JSON bodies).
        """
        with self._log_lock:
            return [dict(entry) for entry in self._log]

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    # ----- running --------------------------------------------------------

    def start(self) -> Sandbox:
        if self._httpd is not None:
            raise RuntimeError("the sandbox is already running")
        self._httpd = _HTTPServer((self.host, self.port), self)
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ----- addresses and environments -------------------------------------

    @property
    def url(self) -> str:
        host = self.host
        if host in ("", "0.0.0.0"):
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def auth_url(self, version: str = "v3") -> str:
        """The identity URL: "v3", "v2.0", or "" for the versionless one."""
        if version not in ("v3", "v2.0", ""):
            raise ValueError("version must be 'v3', 'v2.0' or ''")
        return f"{self.url}/identity/{version}".rstrip("/")

    def now_env(self) -> dict[str, str]:
        """``{"SCHEDULED_IMAGES_NOW": <the clock>}`` (see :func:`now_env`)."""
        return now_env(self)

    def env(self, user: str = "demo", keystone: str = "v3") -> dict[str, str]:
        """OS_* variables that point `nova` / `openstack` at this sandbox.

        keystone="v3": password auth with Keystone v3 (domains set);
        "v2.0": password auth with Keystone v2.0 (no domains, which would
        rule v2.0 out); "rax": rackspaceauth's `rackspace_apikey` plugin.
        """
        seed_user = _seed_user(user)
        common = {
            "OS_USERNAME": seed_user.name,
            "OS_PROJECT_NAME": seed_user.project_name,
            "OS_REGION_NAME": self.settings.region,
        }
        if keystone == "v3":
            return {
                **common,
                "OS_AUTH_TYPE": "password",
                "OS_AUTH_URL": self.auth_url("v3"),
                "OS_PASSWORD": seed_user.password,
                "OS_USER_DOMAIN_ID": "default",
                "OS_PROJECT_DOMAIN_ID": "default",
                "OS_IDENTITY_API_VERSION": "3",
            }
        if keystone == "v2.0":
            return {
                **common,
                "OS_AUTH_TYPE": "password",
                "OS_AUTH_URL": self.auth_url("v2.0"),
                "OS_PASSWORD": seed_user.password,
                "OS_IDENTITY_API_VERSION": "2",
            }
        if keystone == "rax":
            # nova insists on a project even though rackspaceauth never
            # sends it; the sandbox scopes to the user's own project.
            return {
                **common,
                "OS_AUTH_TYPE": "rackspace_apikey",
                "OS_AUTH_URL": self.auth_url("v2.0"),
                "OS_API_KEY": seed_user.api_key,
                "OS_PROJECT_ID": seed_user.project_id,
            }
        raise ValueError("keystone must be 'v3', 'v2.0' or 'rax'")


# The variable from which the client's commands take "now" (the
# client's config.NOW_ENV; written out here because the sandbox imports
# nothing of the client).
NOW_VARIABLE = "SCHEDULED_IMAGES_NOW"


def now_env(sandbox: Sandbox) -> dict[str, str]:
    """``SCHEDULED_IMAGES_NOW`` set to the sandbox's clock, so that the
    commands measure image ages as the sandbox's time has it. Read it
    again after a tick or a change of the clock."""
    with sandbox.lock:
        return {NOW_VARIABLE: format_time(sandbox.state.clock)}


# The variables through which a caller's own cloud could leak into a
# command meant for the sandbox.
CLOUD_VARIABLE_PREFIXES = ("OS_", "NOVA_", "SCHEDULED_IMAGES_")


def subprocess_environ(
    cloud_env: Mapping[str, str],
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """``environ`` (default: this process's) with its cloud settings
    replaced by ``cloud_env`` (e.g. ``Sandbox.env()``), for running
    ``nova``, ``openstack`` or a script against the sandbox."""
    base = os.environ if environ is None else environ
    env = {
        name: value
        for name, value in base.items()
        if not name.startswith(CLOUD_VARIABLE_PREFIXES)
    }
    env.update(cloud_env)
    return env


def check_state_file(path: str) -> None:
    """Refuse a state file path the sandbox could only damage.

    :raises ValueError: when ``path`` exists and is not a regular file
        (a directory, a fifo, a device), or its directory does not exist.
    """
    if os.path.exists(path) and not os.path.isfile(path):
        raise ValueError(
            f"state file {path} exists and is not a regular file: "
            "give the path of a file (it is created if missing)"
        )
    directory = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(directory):
        raise ValueError(
            f"state file {path}: its directory {directory} does not exist"
        )


def _free_name(wanted: str) -> str:
    """``wanted``, or ``wanted.1``, ``.2``...: the first name not in use."""
    name, number = wanted, 0
    while os.path.lexists(name):
        number += 1
        name = f"{wanted}.{number}"
    return name


def _seed_user(name: str) -> SeedUser:
    for seed_user in SEED_USERS:
        if seed_user.name == name:
            return seed_user
    raise ValueError(f"no seeded user {name!r}")
