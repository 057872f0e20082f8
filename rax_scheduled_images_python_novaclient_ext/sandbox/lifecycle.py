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
"""The server lifecycle: BUILD, REBUILD, snapshots and deletes that take
time, and the TCP answer of every ACTIVE server.

An action (server_actions.py) changes a server at once to its "in
progress" look (BUILD / `spawning`, REBUILD / `rebuilding`, DELETED /
`deleting`, a snapshot's task states) and schedules the rest as steps
due after the action delay, in real (monotonic) seconds, not on the
sandbox's simulated clock. Due steps are applied by the listener thread
(listeners.py) when their time comes, and before every compute or image
request reads anything (`advance`), so a client polling sees the "in
progress" state and then the final one, never a late one.

Pending steps live in memory only: a sandbox restarted from its state
file finishes whatever was in progress at once (`adopt`), and a snapshot
cut short that way ends `killed`. Quotas and the action delay are
settings of the running sandbox, not of its state file.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .listeners import Listeners, loopback_address
from .model import Image, Server, format_time
from .protocol import ApiError
from .regions import delete_server
from .state import State

DEFAULT_ACTION_DELAY = 0.5
BOOT_OUTCOMES = ("ok", "error", "no-answer")
IMAGE_OUTCOMES = ("ok", "killed")
# Nova's vm_state for each status the sandbox shows.
VM_STATES = {
    "ACTIVE": "active",
    "BUILD": "building",
    "REBUILD": "active",
    "ERROR": "error",
    "SHUTOFF": "stopped",
    "DELETED": "deleted",
}
SNAPSHOT_TASKS = ("image_snapshot", "image_pending_upload", "image_uploading")
SNAPSHOT_SIZE = 1073741824

Step = Callable[[], None]


@dataclass
class _Action:
    """The steps of one server's action still to come, soonest first,
    each at a fraction of the action delay after `start`."""

    start: float
    steps: list[tuple[float, Step]]
    cancel: Step | None = None


def vm_state(status: str) -> str:
    return VM_STATES.get(status, status.lower())


class Lifecycle:
    """Timers, addresses, quotas and listeners of one sandbox's servers.

    `lock` is the sandbox's lock (every change to a State is made under
    it); `persist` saves the state after a timer changed it.
    """

    def __init__(
        self,
        lock: threading.RLock,
        persist: Callable[[], None],
        *,
        action_delay: float = DEFAULT_ACTION_DELAY,
        server_port: int = 0,
    ) -> None:
        check_delay(action_delay)
        self.lock = lock
        self.persist = persist
        self._action_delay = float(action_delay)
        self.listeners = Listeners(server_port)
        self.listeners.on_wake = self._on_wake
        self.listeners.next_wait = self.next_wait
        # Real seconds; a test may put a clock of its own here.
        self.clock: Callable[[], float] = time.monotonic
        self.quotas: dict[str, int] = {}
        self._pending: dict[str, _Action] = {}
        self._addresses: set[str] = set()
        self._next_address = 0

    @property
    def action_delay(self) -> float:
        return self._action_delay

    @action_delay.setter
    def action_delay(self, seconds: float) -> None:
        """A new delay applies to the actions in progress too (each step
        is due at its fraction of the delay after its action began): 0
        ends them all at the next read."""
        self._action_delay = check_delay(seconds)
        self.listeners.wake()

    # ----- running --------------------------------------------------------

    def start(self, states: Iterable[State]) -> None:
        """Take the port, start the thread, open the ACTIVE servers'
        sockets. :raises OSError: when the server port cannot be had."""
        self.listeners.start()
        for state in states:
            self.adopt(state)

    def stop(self) -> None:
        """Close every socket and end the thread; the servers keep their
        status (a restarted sandbox opens their sockets again)."""
        self.listeners.stop()

    def forget(self) -> None:
        """Drop every pending step and socket (a reset)."""
        with self.lock:
            self._pending.clear()
            self._addresses.clear()
            self._next_address = 0
        self.listeners.close_all()

    def adopt(self, state: State) -> None:
        """Take a state's servers in: their addresses are taken, actions
        cut short by a restart end now, ACTIVE ones listen."""
        with self.lock:
            for server in list(state.servers.values()):
                self._addresses.add(server.address)
                if server.id not in self._pending:
                    self._settle(state, server)
            for server in state.servers.values():
                self.sync(server)

    def _settle(self, state: State, server: Server) -> None:
        if server.status == "DELETED":
            delete_server(state, server.id)
        elif server.status in ("BUILD", "REBUILD"):
            self._finish_boot(state, server)
        elif server.task_state in SNAPSHOT_TASKS:
            server.task_state = None
            for image_id in state.instance_images.get(server.id, set()):
                image = state.images[image_id]
                if image.status in ("queued", "saving"):
                    image.status = "killed"

    def _on_wake(self) -> None:
        try:
            self.advance()
        except Exception:
            traceback.print_exc(file=sys.stderr)

    # ----- steps ----------------------------------------------------------

    def _due(self, action: _Action) -> float:
        return action.start + action.steps[0][0] * self._action_delay

    def next_wait(self) -> float | None:
        """Seconds until the next step is due; None: nothing pending."""
        with self.lock:
            times = [self._due(a) for a in self._pending.values() if a.steps]
            return max(0.0, min(times) - self.clock()) if times else None

    def advance(self) -> bool:
        """Apply every step that is due, and save the state if one was;
        True when something changed."""
        now = self.clock()
        changed = False
        with self.lock:
            for server_id in list(self._pending):
                action = self._pending.get(server_id)
                while action is not None and action.steps:
                    if self._due(action) > now:
                        break
                    _, step = action.steps.pop(0)
                    step()
                    changed = True
                if action is not None and not action.steps:
                    if self._pending.get(server_id) is action:
                        del self._pending[server_id]
            if changed:
                self.persist()
        return changed

    def schedule(
        self,
        server_id: str,
        steps: list[tuple[float, Step]],
        cancel: Step | None = None,
    ) -> None:
        """Steps at fractions of the action delay from now (1.0: the
        delay), replacing whatever the server had pending."""
        self.cancel(server_id)
        with self.lock:
            self._pending[server_id] = _Action(
                self.clock(), list(steps), cancel
            )
        self.listeners.wake()

    def cancel(self, server_id: str) -> None:
        with self.lock:
            action = self._pending.pop(server_id, None)
            if action is not None and action.cancel is not None:
                action.cancel()

    def removed(self, server: Server) -> None:
        """A server deleted at once (the admin API): nothing pending goes
        on, its socket closes."""
        self.cancel(server.id)
        self.listeners.close(server.address)

    def busy(self, server_id: str) -> bool:
        with self.lock:
            return server_id in self._pending

    # ----- addresses, quotas, sockets -------------------------------------

    def new_address(self) -> str:
        """The next 127.0.1.N address no server of this sandbox has."""
        with self.lock:
            while True:
                address = loopback_address(self._next_address)
                self._next_address += 1
                if address not in self._addresses:
                    self._addresses.add(address)
                    return address

    def check_quota(self, state: State, project_id: str) -> None:
        """:raises ApiError: 403 when one more server is over quota."""
        limit = self.quotas.get(project_id)
        if limit is None:
            return
        used = len(state.servers_of(project_id))
        if used + 1 > limit:
            raise ApiError(
                403,
                "Quota exceeded for instances: Requested 1, but already "
                f"used {used} of {limit} instances",
            )

    def sync(self, server: Server) -> None:
        """Listen for an ACTIVE server that answers; close otherwise."""
        if server.status == "ACTIVE" and server.answers_tcp:
            self.listeners.open(server.address)
        else:
            self.listeners.close(server.address)

    def answering(self, server: Server) -> bool:
        return self.listeners.is_open(server.address)

    # ----- transitions ----------------------------------------------------

    def boot(self, state: State, server: Server, rebuild: bool) -> None:
        """BUILD (or REBUILD) now, ACTIVE or ERROR after the delay, as the
        image the server now runs is set to end (`Image.boot_outcome`).
        A server rebuilt while SHUTOFF ends SHUTOFF: Nova keeps a stopped
        server stopped."""
        ends = "SHUTOFF" if rebuild and server.status == "SHUTOFF" else None
        server.status = "REBUILD" if rebuild else "BUILD"
        server.task_state = "rebuilding" if rebuild else "spawning"
        server.fault = None
        server.updated = format_time(state.clock)
        self.sync(server)
        self.schedule(
            server.id,
            [(1.0, lambda: self._finish_boot(state, server, ends))],
        )

    def _finish_boot(
        self, state: State, server: Server, ends: str | None = None
    ) -> None:
        if state.servers.get(server.id) is not server:
            return
        image = state.images.get(server.image_id)
        outcome = "ok" if image is None else image.boot_outcome
        now = format_time(state.clock)
        server.task_state = None
        server.updated = now
        if outcome == "error":
            server.status = "ERROR"
            server.fault = {
                "code": 500,
                "message": f"Build of instance {server.id} aborted: the "
                f"image {server.image_id} failed to boot.",
                "created": now,
            }
        else:
            server.status = ends or "ACTIVE"
            server.answers_tcp = outcome != "no-answer"
        self.sync(server)

    def delete(self, state: State, server: Server) -> None:
        """DELETED (task `deleting`) now and its socket closed; gone after
        the delay. Its schedule goes now: the service never images it."""
        if server.status == "DELETED":
            return
        self.cancel(server.id)
        server.status = "DELETED"
        server.task_state = "deleting"
        server.schedule = None
        server.updated = format_time(state.clock)
        self.sync(server)

        def gone() -> None:
            if state.servers.get(server.id) is server:
                delete_server(state, server.id)

        self.schedule(server.id, [(1.0, gone)])

    def snapshot(self, state: State, server: Server, image: Image) -> None:
        """The image goes queued -> saving -> active (or killed) while the
        server's task goes through Nova's three snapshot states."""

        def task(name: str | None, status: str | None) -> Step:
            def step() -> None:
                server.task_state = name
                if status is not None:
                    self._image_status(state, image, server, status)

            return step

        def kill() -> None:
            if image.status != "active":
                self._image_status(state, image, server, "killed")
            server.task_state = None

        server.task_state = SNAPSHOT_TASKS[0]
        self.schedule(
            server.id,
            [
                (1 / 3, task(SNAPSHOT_TASKS[1], "saving")),
                (2 / 3, task(SNAPSHOT_TASKS[2], None)),
                (1.0, task(None, "active")),
            ],
            cancel=kill,
        )

    def _image_status(
        self, state: State, image: Image, server: Server, status: str
    ) -> None:
        if state.images.get(image.id) is not image:
            return  # deleted meanwhile
        if status == "active" and server.image_outcome == "killed":
            status = "killed"
        image.status = status
        image.size = SNAPSHOT_SIZE if status == "active" else 0
        image.updated_at = format_time(state.clock)

    def set_state(
        self, server: Server, status: str, task_state: str | None
    ) -> None:
        """Set by hand (the admin API): nothing pending goes on."""
        self.cancel(server.id)
        server.status = status
        server.task_state = task_state
        if status != "ERROR":
            server.fault = None
        self.sync(server)


def check_delay(seconds: Any) -> float:
    """:raises ValueError: for a delay that is not 0 to 3600 seconds."""
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, (int, float))
        or not 0 <= seconds <= 3600
    ):
        raise ValueError("the action delay must be 0 to 3600 seconds")
    return float(seconds)
