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
"""Creating, rebuilding, snapshotting and deleting servers through the
Compute API, with Nova's refusals and texts.

    POST   /servers                      create (202; BUILD, then ACTIVE)
    POST   /servers/{id}/action          {"rebuild": ...}, {"createImage": ...}
    DELETE /servers/{id}                 204; DELETED, then gone

Each handler checks the request, changes the server to its "in
progress" look and leaves the rest to the lifecycle (lifecycle.py).
The microversion a request asks for (`X-OpenStack-Nova-API-Version` or
`OpenStack-API-Version: compute X.Y`; none means 2.0) decides where
createImage puts the image id (the `Location` header before 2.45, the
body from 2.45) and how a server shows its flavor (details from 2.47).
"""

from __future__ import annotations

import re
import secrets
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from . import flavors
from .lifecycle import Lifecycle, vm_state
from .model import Image, Server, format_time
from .protocol import (
    ApiError,
    Request,
    Response,
    Settings,
    bad_request,
    not_found,
)
from .state import State

if TYPE_CHECKING:
    from .flavors import Flavor

LATEST = (2, 96)
IMAGE_ID_IN_BODY_FROM = (2, 45)
# Rackspace's two networks: PublicNet and ServiceNet.
NETWORKS = {
    "00000000-0000-0000-0000-000000000000": "public",
    "11111111-1111-1111-1111-111111111111": "private",
}
REBUILD_FROM = ("ACTIVE", "SHUTOFF", "ERROR")
SNAPSHOT_FROM = ("ACTIVE", "SHUTOFF")


class ComputeCall(Protocol):
    """What these handlers need of compute.py's per-request object."""

    state: State
    settings: Settings
    request: Request
    project_id: str
    prefix: str

    def view(self, server: Server, detail: bool) -> dict[str, Any]: ...


def microversion(request: Request) -> tuple[int, int]:
    """The compute microversion a request asks for; (2, 0) for none.

    :raises ApiError: 400 for a version that is not `X.Y` or `latest`.
    """
    value = None
    text = request.header("OpenStack-API-Version")
    if text:
        parts = text.split()
        if len(parts) == 2 and parts[0].lower() == "compute":
            value = parts[1]
    if value is None:
        value = request.header("X-OpenStack-Nova-API-Version")
    if not value:
        return (2, 0)
    if value.strip().lower() == "latest":
        return LATEST
    match = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", value)
    if match is None:
        raise bad_request(f"Invalid API version request string: {value}")
    return (int(match.group(1)), int(match.group(2)))


def version_headers(request: Request) -> dict[str, str]:
    """The headers Nova answers a microversioned request with."""
    if not (
        request.header("OpenStack-API-Version")
        or request.header("X-OpenStack-Nova-API-Version")
    ):
        return {}
    try:
        major, minor = microversion(request)
    except ApiError:
        return {}
    version = f"{major}.{minor}"
    return {
        "OpenStack-API-Version": f"compute {version}",
        "X-OpenStack-Nova-API-Version": version,
        "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
    }


def server_fields(server: Server, version: tuple[int, int]) -> dict[str, Any]:
    """The parts of a server's detailed view its lifecycle decides, at
    the request's microversion."""
    image: Any = ""
    if not server.volume_backed:
        image = {"id": server.image_id, "links": []}
    fields: dict[str, Any] = {
        "status": server.status,
        "OS-EXT-STS:task_state": server.task_state,
        "OS-EXT-STS:vm_state": vm_state(server.status),
        "image": image,
        "flavor": flavors.server_flavor(server.flavor_id, version),
        "addresses": {"public": [{"version": 4, "addr": server.address}]},
        "metadata": dict(server.metadata),
        "progress": 100 if server.status == "ACTIVE" else 0,
    }
    if server.status == "ERROR" and server.fault is not None:
        fields["fault"] = dict(server.fault)
    return fields


def lifecycle_of(settings: Settings) -> Lifecycle:
    """:raises ApiError: 501 outside a running Sandbox."""
    if settings.lifecycle is None:
        raise ApiError(501, "Servers cannot change in this sandbox.")
    return settings.lifecycle


def _server(call: ComputeCall, server_id: str) -> Server:
    server = call.state.servers.get(server_id)
    if server is None or server.project_id != call.project_id:
        raise not_found(f"Instance {server_id} could not be found.")
    return server


def _last_segment(ref: Any) -> str:
    """An id, or the id at the end of a link (Nova takes either)."""
    return str(ref).rstrip("/").rsplit("/", 1)[-1]


def _bootable(call: ComputeCall, ref: Any, flavor: Flavor) -> Image:
    """The image a server may boot: visible, active, small enough.

    :raises ApiError: 400 otherwise, with Nova's texts.
    """
    image_id = _last_segment(ref)
    image = call.state.images.get(image_id)
    if image is None or not call.state.image_visible_to(
        image, call.project_id
    ):
        raise bad_request(f"Image {image_id} could not be found.")
    if image.status != "active":
        raise bad_request(f"Image {image_id} is not active.")
    # A flavor with no disk boots from a volume, sized for any image.
    if flavor.disk and image.min_disk > flavor.disk:
        raise bad_request("Flavor's disk is too small for requested image.")
    return image


def _metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(v) <= 255
        for k, v in value.items()
    ):
        raise bad_request("Invalid input for field/attribute metadata.")
    return dict(value)


def _check_networks(value: Any) -> None:
    """`[{"uuid": ...}]`, "auto" or "none"; a network that does not
    exist is a 400."""
    if value is None or value in ("auto", "none"):
        return
    if not isinstance(value, list) or not all(
        isinstance(item, dict) for item in value
    ):
        raise bad_request("Invalid input for field/attribute networks.")
    for item in value:
        network = item.get("uuid")
        if network not in NETWORKS:
            raise bad_request(f"Network {network} could not be found.")


def _name(spec: dict[str, Any]) -> str:
    name = spec.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise bad_request("Invalid input for field/attribute name.")
    return name


def _volume_boot(spec: dict[str, Any]) -> bool:
    """A block device mapping that boots (boot_index 0) from a volume
    or an image copied to one."""
    mappings = spec.get("block_device_mapping_v2")
    if not isinstance(mappings, list):
        return False
    return any(
        isinstance(m, dict) and str(m.get("boot_index")) == "0"
        for m in mappings
    )


def _flavor(ref: Any) -> Flavor:
    flavor_id = _last_segment(ref) if ref else ""
    flavor = flavors.find(flavor_id)
    if flavor is None:
        raise bad_request(f"Flavor {flavor_id} could not be found.")
    return flavor


def _body(call: ComputeCall, key: str) -> dict[str, Any]:
    body = call.request.json()
    if not isinstance(body, dict) or not isinstance(body.get(key), dict):
        raise bad_request(
            f"The request body is invalid. Key {key} is missing in the body"
        )
    return body[key]


def _links(call: ComputeCall, server_id: str) -> list[dict[str, str]]:
    return [
        {"rel": "self", "href": f"{call.prefix}/servers/{server_id}"},
        {
            "rel": "bookmark",
            "href": f"{call.request.base_url}/compute/"
            f"{call.project_id}/servers/{server_id}",
        },
    ]


def create(call: ComputeCall) -> Response:
    """`POST /servers`: 202 and a server in BUILD.

    :raises ApiError: 400 for a bad name, flavor, image or network; 403
        over the project's instance quota.
    """
    life = lifecycle_of(call.settings)
    spec = _body(call, "server")
    name = _name(spec)
    flavor = _flavor(spec.get("flavorRef"))
    image: Image | None = None
    if spec.get("imageRef"):
        image = _bootable(call, spec["imageRef"], flavor)
    elif not _volume_boot(spec):
        raise bad_request("Missing imageRef attribute")
    _check_networks(spec.get("networks"))
    metadata = _metadata(spec.get("metadata"))
    state = call.state
    life.check_quota(state, call.project_id)
    now = format_time(state.clock)
    server = Server(
        id=str(uuid.uuid4()),
        name=name,
        project_id=call.project_id,
        user_id="u-" + call.project_id,
        created=now,
        updated=now,
        image_id="" if image is None else image.id,
        flavor_id=flavor.id,
        status="BUILD",
        address=life.new_address(),
        volume_backed=image is None,
        metadata=metadata,
    )
    state.add_servers([server])
    life.boot(state, server, rebuild=False)
    links = _links(call, server.id)
    body = {
        "id": server.id,
        "links": links,
        "adminPass": secrets.token_urlsafe(9),
        "OS-DCF:diskConfig": "AUTO",
        "security_groups": [{"name": "default"}],
    }
    return Response(
        202,
        {"server": body},
        headers={"Location": links[0]["href"]},
        changed=True,
    )


def delete(call: ComputeCall, server_id: str) -> Response:
    """`DELETE /servers/{id}`: 204; DELETED for the delay, then 404.

    :raises ApiError: 404 for a server the project does not have.
    """
    life = lifecycle_of(call.settings)
    server = _server(call, server_id)
    life.delete(call.state, server)
    return Response(204, changed=True)


def action(call: ComputeCall, server_id: str) -> Response:
    """`POST /servers/{id}/action`: rebuild or createImage.

    :raises ApiError: 404 for an unknown server, 400 for another action
        or a bad body, and what each action raises.
    """
    life = lifecycle_of(call.settings)
    server = _server(call, server_id)
    body = call.request.json()
    if not isinstance(body, dict) or len(body) != 1:
        raise bad_request("Malformed request body")
    ((name, spec),) = body.items()
    if not isinstance(spec, dict):
        raise bad_request(f"Malformed request body: {name} is not an object")
    if name == "rebuild":
        return _rebuild(call, life, server, spec)
    if name == "createImage":
        return _create_image(call, life, server, spec)
    raise bad_request(f"There is no such action: {name}")


def _check_state(server: Server, verb: str, allowed: tuple[str, ...]) -> None:
    """:raises ApiError: 409 with a task in progress or in a state the
    action is not accepted from."""
    if server.task_state is not None:
        raise ApiError(
            409,
            f"Cannot '{verb}' instance {server.id} while it is in "
            f"task_state {server.task_state}",
        )
    if server.status not in allowed:
        raise ApiError(
            409,
            f"Cannot '{verb}' instance {server.id} while it is in "
            f"vm_state {vm_state(server.status)}",
        )


def _rebuild(
    call: ComputeCall, life: Lifecycle, server: Server, spec: dict[str, Any]
) -> Response:
    _check_state(server, "rebuild", REBUILD_FROM)
    if not spec.get("imageRef"):
        raise bad_request("Missing imageRef attribute")
    flavor = flavors.find(server.flavor_id) or flavors.FLAVORS["general1-1"]
    image = _bootable(call, spec["imageRef"], flavor)
    if server.volume_backed:
        raise bad_request(
            "Rebuilding a volume-backed server with a new image is not "
            "supported."
        )
    metadata = _metadata(spec.get("metadata"))
    if "name" in spec:
        server.name = _name(spec)
    if "metadata" in spec:
        server.metadata = metadata
    # Nova records the new image at once; it shows during REBUILD.
    server.image_id = image.id
    life.boot(call.state, server, rebuild=True)
    body = call.view(server, detail=True)
    body["adminPass"] = secrets.token_urlsafe(9)
    return Response(202, {"server": body}, changed=True)


def _create_image(
    call: ComputeCall, life: Lifecycle, server: Server, spec: dict[str, Any]
) -> Response:
    _check_state(server, "createImage", SNAPSHOT_FROM)
    if server.volume_backed:
        # Rackspace: a server booted from a volume cannot be imaged.
        raise bad_request(
            f"Server {server.id} boots from a volume: it cannot be imaged."
        )
    name = _name(spec)
    metadata = _metadata(spec.get("metadata"))
    state = call.state
    base = state.images.get(server.image_id)
    flavor = flavors.find(server.flavor_id)
    now = format_time(state.clock)
    properties = dict(metadata)
    properties.update(
        {
            "instance_uuid": server.id,
            "image_type": "snapshot",
            "base_image_ref": server.image_id,
            "user_id": server.user_id,
        }
    )
    image = Image(
        # A random id: the daily job's ids stay the same for a seed.
        id=str(uuid.uuid4()),
        name=name,
        owner=server.project_id,
        created_at=now,
        updated_at=now,
        status="queued",
        min_disk=max(
            flavor.disk if flavor else 0, base.min_disk if base else 0
        ),
        min_ram=base.min_ram if base else 0,
        properties=properties,
    )
    state.add_image(image)
    life.snapshot(state, server, image)
    if microversion(call.request) >= IMAGE_ID_IN_BODY_FROM:
        return Response(202, {"image_id": image.id}, changed=True)
    location = f"{call.request.base_url}/image/v2/images/{image.id}"
    return Response(202, headers={"Location": location}, changed=True)
