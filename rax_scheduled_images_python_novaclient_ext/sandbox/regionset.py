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
"""Several regions (`--regions DFW,ORD,IAD`), one of which may fail.

The first region is the sandbox's own (`/compute`, `/image`, the state
file); each other one has a `State` of its own, served under
`/region/<NAME>/compute` and `/region/<NAME>/image`, listed in the
catalog after the first region's endpoints (so a client that chooses no
region stays in the first, with compute and image together). Projects,
users and tokens are shared: one login is good in every region, as in
Keystone. A region's servers, schedules and images are its own, seeded
apart from the first region's (names start with the region's name in
lower case), so a test can tell which region a row came from.

`PUT /sandbox/regions/<NAME>/fail {"status": 503}` makes every compute
and image request of that region answer that status (0 clears it).
Only the first region's state is saved in a state file; the others are
seeded afresh at each start (and at each reset).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import Any

from .model import Schedule, Server, format_time
from .protocol import ApiError, Settings
from .regions import add_region, error_status
from .seed import DEMO_PROJECT_ID, generate_fleet, make_image
from .state import State

PREFIX = "region"
FAIL_MESSAGE = "The region {name} is failing (sandbox)."
_NAMESPACE = uuid.UUID("0f2d5c1e-6a7b-4c8d-9e0f-a1b2c3d4e5f6")


def check_names(regions: Sequence[str], second: str | None) -> None:
    """Refuse region names a catalog or a URL cannot carry.

    :raises ValueError: for an empty list, an empty, repeated or
        unsafe name, or one that is also the `--second-region`.
    """
    if not regions:
        raise ValueError("regions must name at least one region")
    for name in regions:
        if not name or any(c in name for c in "/?#%\\ ,") or name in "..":
            raise ValueError(f"{name!r} is not a usable region name")
    if len(set(regions)) != len(regions):
        raise ValueError("each region may be named once")
    if second is not None and second in regions:
        raise ValueError(f"{second} is both a region and the second region")


def region_servers(name: str) -> list[tuple[str, str]]:
    """(id, name) of the servers seeded in region `name`: a scheduled
    web server, an unscheduled one and one deleted (its images left)."""
    low = name.lower()
    return [
        (str(uuid.uuid5(_NAMESPACE, f"{name}/{kind}")), f"{low}-{kind}")
        for kind in ("web", "db", "old")
    ]


def build_region(
    primary: State, name: str, number: int, seed: int, fleet: Sequence[int]
) -> State:
    """The state of region `name` (the `number`th after the first).

    Its projects, users and tokens are the first region's own objects;
    its generated fleet (when the sandbox has one) uses `seed + number`,
    so its ids differ from every other region's.
    """
    state = State()
    state.clock = primary.clock
    state.projects = primary.projects
    state.users = primary.users
    state.tokens = primary.tokens
    state.id_namespace = uuid.uuid5(_NAMESPACE, f"images/{name}")
    for project_id in primary.projects:
        state.project_servers.setdefault(project_id, [])
    (web_id, web), (db_id, db), (old_id, old) = region_servers(name)
    created = format_time(state.clock - dt.timedelta(days=30))
    servers = [
        Server(sid, sname, DEMO_PROJECT_ID, "u-" + DEMO_PROJECT_ID, created,
               created, address=f"10.{100 + number}.0.{position + 2}")
        for position, (sid, sname) in enumerate(
            [(web_id, web), (db_id, db), (old_id, old)]
        )
    ]  # fmt: skip
    servers[0].schedule = Schedule(retention=2)
    servers[2].schedule = Schedule(retention=2)
    state.add_servers(servers)
    made = [
        make_image(state, server, state.clock - dt.timedelta(days=days))
        for server in (servers[0], servers[2])
        for days in (2, 1)
    ]
    state.add_images_bulk(made)
    _forget_server(state, old_id)
    servers_count, scheduled, images = fleet
    if servers_count:
        generate_fleet(
            state,
            seed=seed + number,
            servers=servers_count,
            scheduled=scheduled,
            images=images,
        )
    return state


def _forget_server(state: State, server_id: str) -> None:
    """A server deleted as Nova deletes it: its images stay."""
    server = state.servers.pop(server_id)
    ids = state.project_servers[server.project_id]
    ids.remove(server_id)
    state.server_position.pop(server_id, None)
    for position, sid in enumerate(ids):
        state.server_position[sid] = position


def add_regions(
    catalog: list[dict[str, Any]],
    settings: Settings,
    base_url: str,
    project_id: str,
    v3: bool,
) -> None:
    """Add each further region's compute and image endpoints, after the
    first region's, to a catalog built for the first region."""
    for number, region in enumerate(settings.extra_regions, 1):
        add_region(
            catalog,
            region,
            f"{base_url}/{PREFIX}/{region}",
            f"r{number}",
            project_id,
            v3,
        )


def region_of(segments: list[str], settings: Settings) -> str | None:
    """The region an API request is for; None for identity."""
    top = segments[0] if segments else ""
    if top in ("compute", "image"):
        return settings.region
    if top == PREFIX and len(segments) > 1:
        return segments[1]
    return None


def failure(failing: dict[str, int], region: str | None) -> ApiError | None:
    """The error every request of a failing region answers."""
    status = failing.get(region or "")
    if not status:
        return None
    return ApiError(status, FAIL_MESSAGE.format(name=region))


def set_failing(
    failing: dict[str, int], known: Sequence[str], name: str, body: Any
) -> None:
    """Make region `name` fail with a status (0 clears it).

    :raises KeyError: for a region the sandbox does not serve.
    :raises ValueError: for a status that is not 0 or 400-599.
    """
    if name not in known:
        raise KeyError(name)
    status = error_status(body)
    if status:
        failing[name] = status
    else:
        failing.pop(name, None)
