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
"""The admin API under /sandbox: drive and inspect a running sandbox.

No token is needed (the server answers loopback clients only), and these
calls are neither logged nor faulted, so looking at a sandbox does not
change what it does next.

    GET    /sandbox            summary: alias, clock, counts, settings
    POST   /sandbox/tick       run the daily job; body {"days": N} optional
    GET    /sandbox/clock      {"clock": "2025-01-04T03:17:00Z"}
    PUT    /sandbox/clock      set it: {"clock": "<ISO 8601>"} (POST too)
    GET    /sandbox/requests   {"requests": [...], "count": N}
    DELETE /sandbox/requests   forget them
    GET    /sandbox/faults     the fault settings
    POST   /sandbox/faults     change some: {"fault_rate": 0.5, ...}
    POST   /sandbox/reset      back to the seeded state
    POST   /sandbox/images     add a snapshot image of a server, e.g.
                               {"server_id": ID, "marked": false,
                                "status": "queued", "created_at": ISO,
                                "size": 1024,
                                "visibility": "public"}
    POST   /sandbox/servers    add a server (no schedule), e.g.
                               {"name": "café ☕", "project_id": "100001",
                                "metadata": {"backup": "weekly"}}
                               ("id", "metadata" optional; project
                               default: demo)
    POST   /sandbox/outcome    what the daily job does for a server from
                               now on: {"server_id": ID, "outcome":
                               "ok" | "skip" | "fail"}
    DELETE /sandbox/servers/ID delete a server as Nova does: its schedule
                               goes, its images stay
    PUT    /sandbox/servers/ID/answer  {"status": 503}: GET /servers/ID
                               answers that (0 clears)
    PUT    /sandbox/regions/NAME/fail  {"status": 503}: every compute and
                               image request of region NAME answers that
                               (0 clears)

With several regions (`--regions`), adding a server, an image or an
outcome takes an optional `"region"` (default: the first region, or for
an image or outcome the region of its server); deleting a server finds
it in whichever region holds it.

The server lifecycle's knobs (action delay, quotas, boot and snapshot
outcomes, a server's state and record) are in server_admin.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import server_admin
from .images import view as image_view
from .model import Server, format_time, parse_time
from .protocol import (
    ApiError,
    Request,
    Response,
    bad_request,
    not_found,
    require_method,
)
from .regions import delete_server, set_answer
from .regionset import set_failing
from .scheduler import SNAPSHOT_OUTCOMES
from .seed import DEMO_PROJECT_ID, make_image
from .state import State

if TYPE_CHECKING:
    from .server import Sandbox

MAX_TICK_DAYS = 3660


def _body(request: Request) -> dict[str, Any]:
    """The JSON object body; an empty body counts as {}."""
    if not request.body.strip():
        return {}
    body = request.json()
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.")
    return body


def handle(sandbox: Sandbox, request: Request) -> Response:
    """Answer an admin call: a route of `ROUTES`, or one on a server."""
    path = request.segments[1:]
    if not path:
        require_method(request, "GET")
        return Response(200, summary(sandbox))
    name, rest = path[0], path[1:]
    answer = server_admin.route(sandbox, request, name, rest)
    if answer is not None:
        return answer
    if name == "servers" and rest:
        return _on_server(sandbox, request, rest)
    if name == "regions" and len(rest) == 2 and rest[1] == "fail":
        require_method(request, "PUT")
        return _fail_region(sandbox, rest[0], _body(request))
    route = None if rest else ROUTES.get(name)
    if route is None:
        raise not_found()
    methods, call = route
    require_method(request, methods)
    return call(sandbox, request)


def _on_server(
    sandbox: Sandbox, request: Request, rest: list[str]
) -> Response:
    """`DELETE /sandbox/servers/ID` and `PUT /sandbox/servers/ID/answer`."""
    if len(rest) == 1:
        require_method(request, "DELETE")
        return _delete_server(sandbox, rest[0])
    if len(rest) == 2 and rest[1] == "answer":
        require_method(request, "PUT")
        try:
            set_answer(sandbox.server_answers, rest[0], _body(request))
        except ValueError as exc:
            raise bad_request(str(exc)) from None
        return Response(204)
    raise not_found()


def _fail_region(sandbox: Sandbox, name: str, body: Any) -> Response:
    try:
        set_failing(sandbox.failing_regions, list(sandbox.regions), name, body)
    except KeyError:
        raise not_found(f"No region {name}.") from None
    except ValueError as exc:
        raise bad_request(str(exc)) from None
    return Response(204)


def _state_for(
    sandbox: Sandbox, body: dict[str, Any], server_id: Any = None
) -> State:
    """The region state a call is about: the `"region"` named, else
    the one holding `server_id`, else the first region's."""
    region = body.get("region")
    if region is not None:
        try:
            return sandbox.region_state(str(region))
        except KeyError:
            raise bad_request(f"no region {region}") from None
    for state in sandbox.regions.values():
        if server_id is not None and str(server_id) in state.servers:
            return state
    return sandbox.state


def _clock(sandbox: Sandbox, request: Request) -> Response:
    if request.method != "GET":
        text = _body(request).get("clock")
        if not isinstance(text, str):
            raise bad_request('Give the time as {"clock": "<ISO>"}.')
        try:
            sandbox.set_clock(parse_time(text))
        except ValueError:
            raise bad_request(
                f"Not an ISO 8601 time from the year 1 to 9999 (in UTC): "
                f"{text}"
            ) from None
    return Response(200, {"clock": format_time(sandbox.state.clock)})


def _requests(sandbox: Sandbox, request: Request) -> Response:
    if request.method == "DELETE":
        sandbox.clear_requests()
        return Response(204)
    log = sandbox.requests
    return Response(200, {"requests": log, "count": len(log)})


def _faults(sandbox: Sandbox, request: Request) -> Response:
    if request.method != "GET":
        try:
            sandbox.faults.update(_body(request))
        except ValueError as exc:
            raise bad_request(str(exc)) from None
    return Response(200, sandbox.faults.settings.to_json())


def _reset(sandbox: Sandbox, request: Request) -> Response:
    sandbox.reset()
    return Response(204)


def summary(sandbox: Sandbox) -> dict[str, Any]:
    state = sandbox.state
    body: dict[str, Any] = {
        "regions": {
            name: _counts(region) for name, region in sandbox.regions.items()
        },
        "failing_regions": dict(sandbox.failing_regions),
        "alias": sandbox.alias,
        "url": sandbox.url,
        "clock": format_time(state.clock),
        "seed": sandbox.seed,
        "max_retention": sandbox.settings.max_retention,
        "state_file": sandbox.state_file,
        "counts": _counts(state),
        "faults": sandbox.faults.settings.to_json(),
    }
    body.update(server_admin.summary_fields(sandbox))
    return body


def _counts(state: State) -> dict[str, int]:
    return {
        "projects": len(state.projects),
        "servers": len(state.servers),
        "scheduled": sum(1 for s in state.servers.values() if s.schedule),
        "images": len(state.images),
    }


def _tick(sandbox: Sandbox, request: Request) -> Response:
    days = _body(request).get("days", 1)
    if (
        not isinstance(days, int)
        or isinstance(days, bool)
        or not 1 <= days <= MAX_TICK_DAYS
    ):
        raise bad_request(f"days must be an integer from 1 to {MAX_TICK_DAYS}")
    try:
        report = sandbox.tick(days)
    except ValueError as exc:
        raise bad_request(f"Cannot tick: {exc}.") from None
    return Response(
        200,
        {
            "days": report.days,
            "created": report.created,
            "deleted": report.deleted,
            "clock": format_time(sandbox.state.clock),
        },
    )


def _add_image(sandbox: Sandbox, request: Request) -> Response:
    body = _body(request)
    state = _state_for(sandbox, body, body.get("server_id"))
    server = state.servers.get(str(body.get("server_id")))
    if server is None:
        raise not_found(
            f"Instance {body.get('server_id')} could not be found."
        )
    created = state.clock
    if "created_at" in body:
        try:
            created = parse_time(str(body["created_at"]))
        except ValueError:
            raise bad_request("created_at must be an ISO 8601 time") from None
    status = body.get("status", "active")
    properties = body.get("properties", {})
    if not isinstance(status, str) or not isinstance(properties, dict):
        raise bad_request("status must be a string, properties an object")
    image = make_image(
        state,
        server,
        created.astimezone(dt.timezone.utc),
        kind=str(body.get("kind", "Daily")),
        marked=bool(body.get("marked", True)),
        status=status.lower(),
    )
    if "name" in body:
        image.name = str(body["name"])
    if "size" in body:
        image.size = _size(body["size"])
    if "min_disk" in body:
        image.min_disk = _size(body["min_disk"])
    _set_visibility(image, body)
    for key, value in properties.items():
        if not isinstance(value, str):
            raise ApiError(400, f"property {key} must be a string")
        image.properties[str(key)] = value
    state.add_image(image)
    sandbox.persist()
    return Response(201, image_view(image))


def _add_server(sandbox: Sandbox, request: Request) -> Response:
    """A server with any name (non-ASCII ones, for terminals that cannot
    show them), in a seeded project."""
    body = _body(request)
    state = _state_for(sandbox, body)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("name must be a non-empty string")
    project_id = str(body.get("project_id", DEMO_PROJECT_ID))
    if project_id not in state.projects:
        raise bad_request(f"no project {project_id}")
    try:
        server_id = str(uuid.UUID(str(body.get("id") or uuid.uuid4())))
    except ValueError:
        raise bad_request("id must be a UUID") from None
    if server_id in state.servers:
        raise ApiError(409, f"server {server_id} exists")
    created = format_time(state.clock)
    server = Server(
        id=server_id,
        name=name,
        project_id=project_id,
        user_id="u-" + project_id,
        created=created,
        updated=created,
        address=sandbox.lifecycle.new_address(),
        **server_admin.server_options(state, body),
    )
    state.add_servers([server])
    sandbox.lifecycle.sync(server)
    sandbox.persist()
    return Response(
        201,
        {"server": {"id": server_id, "name": name, "project_id": project_id}},
    )


def _size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise bad_request("size must be a whole number of bytes")
    return value


def _set_outcome(sandbox: Sandbox, request: Request) -> Response:
    """Make a server's daily job succeed, skip (a missed run) or fail."""
    body = _body(request)
    outcome = body.get("outcome")
    if outcome not in SNAPSHOT_OUTCOMES:
        raise bad_request(
            "outcome must be one of " + ", ".join(SNAPSHOT_OUTCOMES)
        )
    with sandbox.lock:
        state = _state_for(sandbox, body, body.get("server_id"))
        server = state.servers.get(str(body.get("server_id")))
        if server is None:
            raise not_found(
                f"Instance {body.get('server_id')} could not be found."
            )
        server.snapshot_outcome = outcome
    sandbox.persist()
    return Response(200, {"server_id": server.id, "outcome": outcome})


def _delete_server(sandbox: Sandbox, server_id: str) -> Response:
    with sandbox.lock:
        state = _state_for(sandbox, {}, server_id)
        server = state.servers.get(server_id)
        try:
            delete_server(state, server_id)
        except KeyError:
            raise not_found(
                f"Instance {server_id} could not be found."
            ) from None
        if server is not None:
            sandbox.lifecycle.removed(server)
        sandbox.persist()
    return Response(204)


def _set_visibility(image: Any, body: dict[str, Any]) -> None:
    """An image another project can see: `public` (or `shared`)."""
    visibility = body.get("visibility", "private")
    if visibility not in ("private", "public", "shared", "community"):
        raise bad_request(
            "visibility must be private, public, shared or community"
        )
    image.visibility = visibility


# /sandbox/<name>: the methods it answers and the function that does.
ROUTES: dict[str, tuple[str, Callable[[Sandbox, Request], Response]]] = {
    "tick": ("POST", _tick),
    "clock": ("GET, PUT, POST", _clock),
    "requests": ("GET, DELETE", _requests),
    "faults": ("GET, POST, PUT", _faults),
    "reset": ("POST", _reset),
    "images": ("POST", _add_image),
    "servers": ("POST", _add_server),
    "outcome": ("POST", _set_outcome),
}
