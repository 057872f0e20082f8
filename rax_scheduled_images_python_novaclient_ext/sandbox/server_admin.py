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
"""The admin knobs of the server lifecycle, under /sandbox (not logged,
no token), and the same as methods of the `Sandbox` (`ServerKnobs`).

    PUT /sandbox/action-delay        {"seconds": 2.0}
    GET|PUT /sandbox/quota           {"project_id": ID, "instances": N}
                                     (null: no limit; project default demo)
    PUT /sandbox/images/ID/boot      {"outcome": "ok" | "error" | "no-answer"}
    PUT /sandbox/servers/ID/snapshot {"outcome": "ok" | "killed"}
    PUT /sandbox/servers/ID/state    {"status": "SHUTOFF", "task_state": null}
                                     (ERROR: "fault": "message" optional)
    GET /sandbox/servers/ID          the sandbox's own record of a server

`POST /sandbox/servers` also takes `flavor`, `image_id`, `volume_backed`
and `metadata` (`server_options`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import flavors
from .lifecycle import (
    BOOT_OUTCOMES,
    IMAGE_OUTCOMES,
    VM_STATES,
    Lifecycle,
    check_delay,
    vm_state,
)
from .model import Server, format_time
from .protocol import (
    ApiError,
    Request,
    Response,
    Settings,
    bad_request,
    not_found,
    require_method,
)
from .seed import DEMO_PROJECT_ID
from .state import State

if TYPE_CHECKING:
    from .server import Sandbox

# Statuses a server can be set to by hand (DELETED only by a delete).
HAND_FAULT = "Set to ERROR by the sandbox's admin API."
SETTABLE = tuple(s for s in VM_STATES if s != "DELETED")


def _object(request: Request) -> dict[str, Any]:
    body = request.json() if request.body.strip() else {}
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def _value_error(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    except KeyError as exc:
        raise not_found(str(exc.args[0])) from None


def route(
    sandbox: Sandbox, request: Request, name: str, rest: list[str]
) -> Response | None:
    """Answer a lifecycle admin call; None for every other path."""
    if name == "action-delay" and not rest:
        require_method(request, "GET, PUT")
        if request.method == "PUT":
            seconds = _object(request).get("seconds")
            _value_error(lambda: sandbox.set_action_delay(seconds))
        return Response(200, {"seconds": sandbox.lifecycle.action_delay})
    if name == "quota" and not rest:
        require_method(request, "GET, PUT")
        if request.method == "PUT":
            body = _object(request)
            project = str(body.get("project_id", DEMO_PROJECT_ID))
            limit = body.get("instances")
            _value_error(lambda: sandbox.set_quota(project, limit))
        return Response(200, {"quotas": dict(sandbox.lifecycle.quotas)})
    if len(rest) == 2 and (name, rest[1]) in _ITEM_KNOBS:
        require_method(request, "PUT")
        outcome = _object(request)
        knob = _ITEM_KNOBS[(name, rest[1])]
        return Response(
            200, _value_error(lambda: knob(sandbox, rest[0], outcome))
        )
    if name == "servers" and len(rest) == 1 and request.method == "GET":
        return Response(
            200, _value_error(lambda: sandbox.server_record(rest[0]))
        )
    return None


def _boot(sandbox: Sandbox, image_id: str, body: dict[str, Any]) -> Any:
    sandbox.set_boot_outcome(image_id, body.get("outcome"))
    return {"image_id": image_id, "outcome": body.get("outcome")}


def _snapshot(sandbox: Sandbox, server_id: str, body: dict[str, Any]) -> Any:
    sandbox.set_snapshot_outcome(server_id, body.get("outcome"))
    return {"server_id": server_id, "outcome": body.get("outcome")}


def _state(sandbox: Sandbox, server_id: str, body: dict[str, Any]) -> Any:
    sandbox.set_server_state(
        server_id,
        body.get("status"),
        body.get("task_state"),
        fault=body.get("fault", HAND_FAULT),
    )
    return sandbox.server_record(server_id)


_ITEM_KNOBS: dict[
    tuple[str, str], Callable[[Sandbox, str, dict[str, Any]], Any]
] = {
    ("images", "boot"): _boot,
    ("servers", "snapshot"): _snapshot,
    ("servers", "state"): _state,
}


def server_options(state: State, body: dict[str, Any]) -> dict[str, Any]:
    """`Server` fields from `POST /sandbox/servers`'s optional keys.

    :raises ApiError: 400 for an unknown flavor or image, bad metadata.
    """
    options: dict[str, Any] = {}
    if "flavor" in body:
        if flavors.find(str(body["flavor"])) is None:
            raise bad_request(f"no flavor {body['flavor']}")
        options["flavor_id"] = str(body["flavor"])
    if body.get("volume_backed"):
        options["volume_backed"] = True
        options["image_id"] = ""
    elif "image_id" in body:
        if str(body["image_id"]) not in state.images:
            raise bad_request(f"no image {body['image_id']}")
        options["image_id"] = str(body["image_id"])
    metadata = body.get("metadata", {})
    if not isinstance(metadata, dict) or not all(
        isinstance(v, str) for v in metadata.values()
    ):
        raise ApiError(400, "metadata must be an object of strings")
    options["metadata"] = {str(k): v for k, v in metadata.items()}
    return options


def summary_fields(sandbox: Sandbox) -> dict[str, Any]:
    """What `GET /sandbox` adds about servers."""
    return {
        "server_port": sandbox.server_port,
        "action_delay": sandbox.lifecycle.action_delay,
        "quotas": dict(sandbox.lifecycle.quotas),
    }


class ServerKnobs:
    """The lifecycle knobs as methods of the `Sandbox` (mixed in)."""

    lock: threading.RLock
    state: State
    settings: Settings
    lifecycle: Lifecycle

    def persist(self) -> None:  # pragma: no cover - Sandbox's
        raise NotImplementedError

    def _start_lifecycle(self, action_delay: float, server_port: int) -> None:
        """The lifecycle, made before the state is loaded (which it then
        adopts). :raises ValueError: for a bad delay or port."""
        self.lifecycle = Lifecycle(
            self.lock,
            self.persist,
            action_delay=action_delay,
            server_port=server_port,
        )
        self.settings.lifecycle = self.lifecycle

    @property
    def server_port(self) -> int:
        """The port every ACTIVE server answers TCP on (chosen at start
        when 0 was asked for)."""
        return self.lifecycle.listeners.port

    def set_action_delay(self, seconds: Any) -> None:
        """:raises ValueError: outside 0 to 3600 seconds."""
        self.lifecycle.action_delay = check_delay(seconds)

    def set_quota(self, project_id: str, instances: int | None) -> None:
        """At most `instances` servers in the project (None: no limit).

        :raises ValueError: for a negative or non-integer count.
        """
        if instances is None:
            self.lifecycle.quotas.pop(project_id, None)
            return
        if (
            isinstance(instances, bool)
            or not isinstance(instances, int)
            or instances < 0
        ):
            raise ValueError("instances must be a whole number or null")
        self.lifecycle.quotas[project_id] = instances

    def _server(self, server_id: str) -> Server:
        server = self.state.servers.get(server_id)
        if server is None:
            raise KeyError(f"Instance {server_id} could not be found.")
        return server

    def set_boot_outcome(self, image_id: str, outcome: Any) -> None:
        """How servers built or rebuilt from the image end from now on.

        :raises ValueError: for an outcome not in BOOT_OUTCOMES.
        :raises KeyError: for an unknown image.
        """
        if outcome not in BOOT_OUTCOMES:
            raise ValueError(
                "outcome must be one of " + ", ".join(BOOT_OUTCOMES)
            )
        with self.lock:
            image = self.state.images.get(image_id)
            if image is None:
                raise KeyError(f"No image found with ID {image_id}")
            image.boot_outcome = outcome
            self.persist()

    def set_snapshot_outcome(self, server_id: str, outcome: Any) -> None:
        """How the server's next createImage snapshots end.

        :raises ValueError: for an outcome not in IMAGE_OUTCOMES.
        :raises KeyError: for an unknown server.
        """
        if outcome not in IMAGE_OUTCOMES:
            raise ValueError(
                "outcome must be one of " + ", ".join(IMAGE_OUTCOMES)
            )
        with self.lock:
            self._server(server_id).image_outcome = outcome
            self.persist()

    def set_server_state(
        self,
        server_id: str,
        status: Any,
        task_state: Any = None,
        fault: Any = HAND_FAULT,
    ) -> None:
        """Set a server's status and task state by hand; ERROR comes with
        a fault of message `fault`.

        :raises ValueError: for a status not in SETTABLE, or a task state
            or fault that is not a string.
        :raises KeyError: for an unknown server.
        """
        if status not in SETTABLE:
            raise ValueError("status must be one of " + ", ".join(SETTABLE))
        if task_state is not None and not isinstance(task_state, str):
            raise ValueError("task_state must be a string or null")
        if not isinstance(fault, str):
            raise ValueError("fault must be a message")
        with self.lock:
            server = self._server(server_id)
            self.lifecycle.set_state(server, status, task_state)
            if status == "ERROR":
                server.fault = {
                    "code": 500,
                    "message": fault,
                    "created": format_time(self.state.clock),
                }
            self.persist()

    def server_record(self, server_id: str) -> dict[str, Any]:
        """The sandbox's own record of a server, whatever project.

        :raises KeyError: for an unknown server.
        """
        with self.lock:
            self.lifecycle.advance()
            server = self._server(server_id)
            return {
                "id": server.id,
                "name": server.name,
                "project_id": server.project_id,
                "status": server.status,
                "task_state": server.task_state,
                "vm_state": vm_state(server.status),
                "image_id": "" if server.volume_backed else server.image_id,
                "volume_backed": server.volume_backed,
                "flavor": server.flavor_id,
                "address": server.address,
                "addresses": {"public": [server.address]},
                "port": self.server_port,
                "answering": self.lifecycle.answering(server),
                "answers_tcp": server.answers_tcp,
                "fault": server.fault,
                "metadata": dict(server.metadata),
                "snapshot_outcome": server.image_outcome,
            }
