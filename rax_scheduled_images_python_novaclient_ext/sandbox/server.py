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
"""The `Sandbox` class: a local cloud serving Scheduled Images.

It owns the state (loaded from its state file or freshly seeded), the
fault injector and the request log, and runs the HTTP server
(handler.py) on a daemon thread. The environment variables that point
a command at it are built in environment.py.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import sys
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from . import environment, persistence, regionset
from .faults import DEFAULT_FAULT_CODES, FaultInjector, FaultSettings
from .handler import MAX_BODY, HTTPServer
from .model import (
    ALIASES,
    DEFAULT_MAX_RETENTION,
    OS_SI_ALIAS,
    format_time,
    parse_time,
)
from .protocol import Settings
from .scheduler import TickReport, tick
from .seed import build_state
from .state import State

# A state of this many servers and images or more is moved out of the
# cyclic garbage collector's reach once built (see `_settle`).
SETTLE_AT = 10_000


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


def _check_settings(alias: str, max_retention: int) -> None:
    if alias not in ALIASES:
        raise ValueError(f"alias must be one of {', '.join(ALIASES)}")
    if max_retention < 1:
        raise ValueError("max_retention must be at least 1")


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
        regions: Sequence[str] | None = None,
        failing_region: str | None = None,
    ) -> None:
        _check_settings(alias, max_retention)
        if regions is not None:
            regionset.check_names(list(regions), second_region)
        names = list(regions or [])
        if failing_region is not None and failing_region not in (
            names or ["RegionOne"]
        ):
            raise ValueError(f"no region {failing_region} to make fail")
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
        if names:
            self.settings.region = names[0]
            self.settings.extra_regions = tuple(names[1:])
        # Region name -> the status its every API request answers.
        self.failing_regions: dict[str, int] = {}
        if failing_region is not None:
            self.failing_regions[failing_region] = 503
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
        self._start_blank()
        self.state = self._initial_state()
        self.region_states = self._region_states()
        _settle(self.state)

    def _start_blank(self) -> None:
        """The lock, an empty request log, no server running yet."""
        self.lock = threading.RLock()
        self._log: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self.load_warning: str | None = None
        # Server id -> the status GET /servers/{id} answers instead.
        self.server_answers: dict[str, int] = {}
        self._httpd: HTTPServer | None = None
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
            persistence.check_state_file(self.state_file)
        if path and os.path.exists(path):
            try:
                state = persistence.load(path)
            except (OSError, ValueError) as exc:
                aside = persistence.free_name(path + ".corrupt")
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

    def _region_states(self) -> dict[str, State]:
        """Each region after the first, seeded on the first's users."""
        return {
            name: regionset.build_region(
                self.state, name, number, self.seed, self.fleet
            )
            for number, name in enumerate(self.settings.extra_regions, 1)
        }

    @property
    def regions(self) -> dict[str, State]:
        """Every region's state by name, the first region's first."""
        return {self.settings.region: self.state, **self.region_states}

    def region_state(self, name: str | None) -> State:
        """The state of region `name` (None: the first region).

        :raises KeyError: for a region the sandbox does not serve.
        """
        return self.state if name is None else self.regions[name]

    def persist(self) -> None:
        """Save the state when a state file is configured."""
        if self._state_path:
            with self.lock:
                persistence.save(self.state, self._state_path)

    def reset(self) -> None:
        """Throw away every change and start again from the seed."""
        with self.lock:
            self.state = self._fresh_state()
            self.region_states = self._region_states()
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
            # Every region's service runs its daily job, on one clock.
            for state in self.region_states.values():
                more = tick(state, days)
                report.created += more.created
                report.deleted += more.deleted
            self.persist()
        return report

    def set_clock(self, value: str | dt.datetime) -> None:
        with self.lock:
            clock = parse_time(value) if isinstance(value, str) else value
            for state in self.regions.values():
                state.clock = clock
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
        self._httpd = HTTPServer((self.host, self.port), self)
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
        return environment.now_env(self)

    def env(self, user: str = "demo", keystone: str = "v3") -> dict[str, str]:
        """OS_* variables that point `nova` / `openstack` at this sandbox.

        keystone="v3": password auth with Keystone v3 (domains set);
        "v2.0": password auth with Keystone v2.0 (no domains, which would
        rule v2.0 out); "rax": rackspaceauth's `rackspace_apikey` plugin.
        """
        return environment.client_env(self, user, keystone)
