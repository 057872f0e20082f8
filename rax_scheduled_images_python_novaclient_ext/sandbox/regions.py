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
"""A second region, and servers deleted the way Nova deletes them.

With `--second-region NAME` the catalog lists a second region for
compute and image. It is empty (no servers, no images) and its
endpoints are listed so that a client that chooses no region picks
compute in the second region and image in the first: the trap in which
every server of the first region looks deleted. `/other-region/compute`
and `/other-region/image` serve it, with the same tokens.

Deleting a server (`DELETE /sandbox/servers/{id}`) removes the server
and its schedule and leaves its images, as the real service does.
`PUT /sandbox/servers/{id}/answer {"status": 503}` makes `GET
/servers/{id}` answer that status (0 clears it): a server whose
existence cannot be told.
"""

from __future__ import annotations

from typing import Any

from .protocol import ApiError, Request, Response, Settings, not_found
from .state import State

PREFIX = "other-region"


def handle(
    state: State, settings: Settings, request: Request, path: list[str]
) -> Response:
    """Route `/other-region/compute/...` and `/other-region/image/...`."""
    # Imported here: identity imports this module for its catalog, and
    # these import identity.
    from . import compute, images

    if settings.second_region is None or not path:
        raise not_found()
    empty = empty_region(state)
    if path[0] == "compute":
        return compute.handle(empty, settings, request, path[1:])
    if path[0] == "image":
        return images.handle(empty, settings, request, path[1:])
    raise not_found()


def empty_region(state: State) -> State:
    """A region with the same projects, users and tokens, and nothing
    else: a login anywhere is good in every region, as in Keystone."""
    region = State()
    region.clock = state.clock
    region.projects = state.projects
    region.users = state.users
    region.tokens = state.tokens
    return region


def add_second_region(
    catalog: list[dict[str, Any]],
    settings: Settings,
    base_url: str,
    project_id: str,
    v3: bool,
) -> None:
    """Add the second region's endpoints to a catalog built for one.

    Compute's goes first and image's last, so a client that picks the
    first endpoint of each lands in two regions.
    """
    region = settings.second_region
    if region is None:
        return
    add_region(
        catalog,
        region,
        f"{base_url}/{PREFIX}",
        "2",
        project_id,
        v3,
        compute_first=True,
    )


def add_region(
    catalog: list[dict[str, Any]],
    region: str,
    root: str,
    suffix: str,
    project_id: str,
    v3: bool,
    *,
    compute_first: bool = False,
) -> None:
    """Add a region's compute (``root``/compute) and image (``root``/image)
    endpoints to a catalog; after the others, or with ``compute_first``
    compute's before them (the trap of :func:`add_second_region`)."""
    urls = {
        "compute": f"{root}/compute/v2/{project_id}",
        "image": f"{root}/image",
    }
    for service in catalog:
        url = urls.get(service["type"])
        if url is None:
            continue
        added = endpoint_entries(
            service["type"], suffix, region, url, project_id, v3
        )
        if compute_first and service["type"] == "compute":
            service["endpoints"][:0] = added
        else:
            service["endpoints"].extend(added)


def endpoint_entries(
    kind: str, suffix: str, region: str, url: str, project_id: str, v3: bool
) -> list[dict[str, Any]]:
    """A region's catalog entries for one service at ``url``: one per
    interface in Keystone v3, one with the three URLs in v2.0."""
    if v3:
        return [
            {
                "id": f"ep-{kind}-{interface}-{suffix}",
                "interface": interface,
                "region": region,
                "region_id": region,
                "url": url,
            }
            for interface in ("public", "internal", "admin")
        ]
    return [
        {
            "id": f"ep-{kind}-{suffix}",
            "region": region,
            "tenantId": project_id,
            "publicURL": url,
            "internalURL": url,
            "adminURL": url,
        }
    ]


def delete_server(state: State, server_id: str) -> None:
    """Delete a server as Nova does: its schedule goes with it (the
    extension hooks server DELETE), its images stay.

    Raises KeyError for an unknown server.
    """
    server = state.servers.pop(server_id)
    ids = state.project_servers.get(server.project_id, [])
    if server_id in ids:
        ids.remove(server_id)
    state.server_position.pop(server_id, None)
    for position, sid in enumerate(ids):
        state.server_position[sid] = position
    server.schedule = None


ANSWER_MESSAGES = {
    401: "The request you have made requires authentication.",
    403: "Policy doesn't allow os_compute_api:servers:show to be performed.",
    404: "Instance could not be found.",
}


def forced_answer(
    answers: dict[str, int], request: Request
) -> ApiError | None:
    """The error a `GET /compute/v2/<project>/servers/<id>` is set to get."""
    segments = request.segments
    if (
        not answers
        or request.method != "GET"
        or len(segments) != 5
        or segments[0] != "compute"
        or segments[3] != "servers"
    ):
        return None
    status = answers.get(segments[4])
    if status is None:
        return None
    return ApiError(
        status, ANSWER_MESSAGES.get(status, f"Forced answer {status}.")
    )


def set_answer(answers: dict[str, int], server_id: str, body: Any) -> None:
    """Record (or, with status 0, forget) a server's forced answer.

    Raises ValueError for a status that is not 0 or 400-599.
    """
    status = error_status(body)
    if status:
        answers[server_id] = status
    else:
        answers.pop(server_id, None)


def error_status(body: Any) -> int:
    """The `{"status": N}` of a forced answer: an HTTP error code, or 0
    to clear it.

    Raises ValueError for anything else.
    """
    status = body.get("status") if isinstance(body, dict) else None
    if (
        not isinstance(status, int)
        or isinstance(status, bool)
        or not (status == 0 or 400 <= status <= 599)
    ):
        raise ValueError("status must be 0 or an HTTP error code")
    return status
