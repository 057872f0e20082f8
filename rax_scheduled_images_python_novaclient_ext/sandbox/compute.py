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
"""Compute: a legacy Nova v2.0 endpoint and the scheduled images extension.

The catalog points at `/compute/v2/<project id>`; its version document
has empty `version` and `min_version`, so python-novaclient settles on
API 2.0, as it does against Rackspace. Only the calls the scheduled images
tools make are served: servers (list, detail, show), extensions, flavors
and the `/servers/{id}/<alias>` sub-resource.
"""

from __future__ import annotations

import re
from itertools import islice
from typing import Any
from urllib.parse import urlencode

from .identity import authenticate
from .model import ALIAS_ATTRIBUTES, DAYS, OS_SI_ALIAS, Schedule, Server
from .protocol import (
    ApiError,
    ProjectCall,
    Request,
    Response,
    Settings,
    bad_request,
    limit_param,
    not_found,
    require_method,
)
from .state import State

NAMESPACE = "http://docs.openstack.org/servers/api/ext/scheduled_images/v1.0"
V2_UPDATED = "2011-01-21T11:33:21Z"

FLAVORS = {
    "general1-1": ("1 GB General Purpose v1", 1024, 20, 1),
    "general1-2": ("2 GB General Purpose v1", 2048, 40, 2),
}


def _v2_version(base_url: str) -> dict[str, Any]:
    return {
        "id": "v2.0",
        "status": "SUPPORTED",
        "version": "",
        "min_version": "",
        "updated": V2_UPDATED,
        "links": [{"rel": "self", "href": f"{base_url}/compute/v2/"}],
    }


def handle(
    state: State, settings: Settings, request: Request, path: list[str]
) -> Response:
    if not path:
        require_method(request, "GET")
        return Response(200, {"versions": [_v2_version(request.base_url)]})
    if path[0] != "v2":
        raise not_found()
    if len(path) == 1:
        require_method(request, "GET")
        return Response(200, {"version": _v2_version(request.base_url)})
    project_id, rest = path[1], path[2:]
    token = authenticate(state, request)
    if token.project_id != project_id:
        # 403 rather than 401: the token is good, just not for this
        # project, and a 401 would make clients re-authenticate and retry.
        raise ApiError(
            403,
            f"URL's project_id '{project_id}' doesn't match Context's "
            f"project_id '{token.project_id}'",
        )
    if not rest:
        require_method(request, "GET")
        return Response(200, {"version": _v2_version(request.base_url)})
    api = _ProjectApi(state, settings, request, project_id)
    return api.route(rest)


class _ProjectApi(ProjectCall):
    """The calls under one project's compute endpoint."""

    def __post_init__(self) -> None:
        base = self.request.base_url
        self.prefix = f"{base}/compute/v2/{self.project_id}"
        self.attribute = ALIAS_ATTRIBUTES[self.settings.alias]

    def route(self, rest: list[str]) -> Response:
        head, tail = rest[0], rest[1:]
        if head == "servers":
            if not tail:
                require_method(self.request, "GET")
                return self.list_servers(detail=False)
            if tail == ["detail"]:
                require_method(self.request, "GET")
                return self.list_servers(detail=True)
            if len(tail) == 1:
                require_method(self.request, "GET")
                return self.show_server(tail[0])
            if len(tail) == 2:
                return self.schedule(tail[0], tail[1])
        if head == "extensions":
            require_method(self.request, "GET")
            return self.extensions(tail)
        if head == "flavors":
            require_method(self.request, "GET")
            return self.flavors(tail)
        raise not_found()

    # ----- servers ----------------------------------------------------------

    def _server(self, server_id: str) -> Server | None:
        server = self.state.servers.get(server_id)
        if server is None or server.project_id != self.project_id:
            return None
        return server

    def view(self, server: Server, detail: bool) -> dict[str, Any]:
        links = [
            {"rel": "self", "href": f"{self.prefix}/servers/{server.id}"},
            {
                "rel": "bookmark",
                "href": f"{self.request.base_url}/compute/"
                f"{self.project_id}/servers/{server.id}",
            },
        ]
        if not detail:
            return {"id": server.id, "name": server.name, "links": links}
        body: dict[str, Any] = {
            "id": server.id,
            "name": server.name,
            "status": server.status,
            "tenant_id": server.project_id,
            "user_id": server.user_id,
            "metadata": dict(server.metadata),
            "hostId": "a1b2" + server.id.replace("-", "")[:20],
            "image": {"id": server.image_id, "links": []},
            "flavor": {"id": server.flavor_id, "links": []},
            "created": server.created,
            "updated": server.updated,
            "addresses": {"private": [{"version": 4, "addr": server.address}]},
            "accessIPv4": "",
            "accessIPv6": "",
            "progress": 100,
            "key_name": None,
            "config_drive": "",
            "OS-DCF:diskConfig": "AUTO",
            "OS-EXT-STS:power_state": 1,
            "OS-EXT-STS:task_state": None,
            "OS-EXT-STS:vm_state": server.status.lower(),
            "links": links,
        }
        if server.schedule is not None:
            body[self.attribute] = server.schedule.to_api()
        return body

    def _limit(self) -> int:
        limit = limit_param(self.request)
        limit_max = self.settings.server_page_max
        if limit is None:
            return limit_max
        # Nova treats 0 like no limit and caps at osapi_max_limit.
        return min(limit or limit_max, limit_max)

    def _schedule_filter(self) -> bool | None:
        text = self.request.param(self.attribute)
        if text is None:
            return None
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise bad_request(
            f"Bad value for query parameter {self.attribute}, "
            "use True or False"
        )

    def _name_filter(self) -> re.Pattern[str] | None:
        text = self.request.param("name")
        if not text:
            return None
        try:
            return re.compile(text)
        except re.error:
            return re.compile(re.escape(text))

    def list_servers(self, detail: bool) -> Response:
        """One page of the project's servers, in Nova's order.

        The name filter narrows the list before paging, as Nova's database
        query does; the schedule filter is applied to the page afterwards,
        as the real extension does, so a page can come back short or empty
        while a `next` link still follows. A `next` link is given whenever
        the page (before the schedule filter) is full.
        """
        limit = self._limit()
        wanted = self._schedule_filter()
        name = self._name_filter()
        status = self.request.param("status")
        ids = self.state.servers_of(self.project_id)
        start = 0
        marker = self.request.param("marker")
        if marker is not None:
            position = self.state.server_position.get(marker)
            if position is None or self._server(marker) is None:
                raise bad_request(f"marker [{marker}] not found")
            start = position + 1
        page: list[Server] = []
        servers = self.state.servers
        if name is None and status is None:
            page = [servers[sid] for sid in ids[start : start + limit]]
        else:
            for sid in islice(ids, start, None):
                server = servers[sid]
                if name is not None and not name.search(server.name):
                    continue
                if status is not None and server.status != status.upper():
                    continue
                page.append(server)
                if len(page) == limit:
                    break
        body: dict[str, Any] = {}
        shown = page
        if wanted is not None:
            shown = [s for s in page if (s.schedule is not None) == wanted]
        body["servers"] = [self.view(s, detail) for s in shown]
        if page and len(page) == limit:
            body["servers_links"] = [
                {"rel": "next", "href": self._next_link(page[-1].id, detail)}
            ]
        return Response(200, body)

    def _next_link(self, marker: str, detail: bool) -> str:
        params = [(k, v) for k, v in self.request.query if k != "marker"]
        params.append(("marker", marker))
        path = "/servers/detail" if detail else "/servers"
        return f"{self.prefix}{path}?{urlencode(params)}"

    def show_server(self, server_id: str) -> Response:
        server = self._server(server_id)
        if server is None:
            raise not_found(f"Instance {server_id} could not be found.")
        return Response(200, {"server": self.view(server, detail=True)})

    # ----- the scheduled images sub-resource --------------------------------

    def schedule(self, server_id: str, alias: str) -> Response:
        # The alias this cloud does not serve is no route at all: Nova's
        # generic 404, whatever the server.
        if alias != self.settings.alias:
            raise not_found()
        require_method(self.request, "GET, POST, DELETE")
        server = self._server(server_id)
        if self.request.method == "POST":
            # Only POST looks the server up.
            if server is None:
                raise not_found(
                    f"Specified instance {server_id} could not be found."
                )
            schedule = parse_schedule(
                self.request.json(), self.settings.max_retention
            )
            server.schedule = schedule
            return Response(
                200, {"image_schedule": schedule.to_api()}, changed=True
            )
        # GET and DELETE read the schedule without looking the server up,
        # as the reference extension does: a server that does not exist,
        # or is another project's, answers as one without a schedule.
        current = server.schedule if server is not None else None
        if self.request.method == "GET":
            if current is None:
                raise not_found(
                    f"Image schedule does not exist for server {server_id}"
                )
            return Response(200, {"image_schedule": current.to_api()})
        if current is None and alias == OS_SI_ALIAS:
            # The original extension's DELETE answers "no schedule" with
            # its 404; Rackspace's service answers 202.
            raise not_found(
                f"Image schedule does not exist for server {server_id}"
            )
        if server is not None:
            server.schedule = None
        return Response(202, changed=current is not None)

    # ----- extensions and flavors -------------------------------------------

    def _extension(self) -> dict[str, Any]:
        return {
            "name": "ScheduledImages",
            "alias": self.settings.alias,
            "namespace": NAMESPACE,
            "description": "Enables automatic daily or weekly images "
            "(snapshots) of a server, keeping a set number of them.",
            "updated": "2013-04-02T00:00:00Z",
            "links": [],
        }

    def extensions(self, tail: list[str]) -> Response:
        extensions = [
            self._extension(),
            {
                "name": "DiskConfig",
                "alias": "OS-DCF",
                "namespace": "http://docs.openstack.org/compute/ext/"
                "disk_config/api/v1.1",
                "description": "Disk Management Extension.",
                "updated": "2011-09-27T00:00:00Z",
                "links": [],
            },
        ]
        if not tail:
            return Response(200, {"extensions": extensions})
        if len(tail) == 1:
            for extension in extensions:
                if extension["alias"] == tail[0]:
                    return Response(200, {"extension": extension})
        raise not_found()

    def flavors(self, tail: list[str]) -> Response:
        def view(flavor_id: str) -> dict[str, Any]:
            name, ram, disk, vcpus = FLAVORS[flavor_id]
            return {
                "id": flavor_id,
                "name": name,
                "ram": ram,
                "disk": disk,
                "vcpus": vcpus,
                "links": [],
            }

        if not tail or tail == ["detail"]:
            return Response(200, {"flavors": [view(f) for f in FLAVORS]})
        if len(tail) == 1:
            if tail[0] in FLAVORS:
                return Response(200, {"flavor": view(tail[0])})
            raise not_found(f"Flavor {tail[0]} could not be found.")
        raise not_found()


def _shown(value: Any) -> str:
    """A value as the server's messages print it (Python's str())."""
    return str(value)


def parse_schedule(body: Any, max_retention: int) -> Schedule:
    """Validate a POSTed `image_schedule` body, with the server's texts.

    Retention is converted with int(), as the real extension does, so
    "7" is taken as 7; booleans and fractions are refused. Days are full
    English names in any case; `day_of_week: null` means daily.
    """
    if not isinstance(body, dict) or not isinstance(
        body.get("image_schedule"), dict
    ):
        raise bad_request(
            "The request body is invalid. "
            "Key image_schedule is missing in the body"
        )
    spec = body["image_schedule"]
    if "retention" not in spec:
        raise bad_request(
            "The request body is invalid. Key retention is missing in the body"
        )
    raw = spec["retention"]
    retention: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        retention = raw
    elif isinstance(raw, str) and re.fullmatch(r"\s*[-+]?\d+\s*", raw):
        retention = int(raw)
    if retention is None:
        raise bad_request(
            f"The retention value {_shown(raw)} is not allowed. "
            "It must be an integer"
        )
    if retention < 1:
        raise bad_request(
            f"The retention value {retention} is not allowed. "
            "It must be greater than 0"
        )
    if retention > max_retention:
        raise bad_request(
            f"The retention value {retention} is not allowed. "
            f"It cannot exceed {max_retention}"
        )
    day = spec.get("day_of_week")
    if day is None:
        return Schedule(retention=retention)
    if not isinstance(day, str) or day.strip().upper() not in DAYS:
        raise bad_request(
            f"The day_of_week value {_shown(day)} is not allowed. It must "
            "be one of SUNDAY, MONDAY, TUESDAY, WEDNESDAY, THURSDAY, "
            "FRIDAY, SATURDAY"
        )
    return Schedule(retention=retention, day_of_week=day.strip().upper())
