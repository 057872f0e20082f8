"""A mocked Compute and Image API with server lifecycles, for restore.

State, not canned answers: a rebuild, a create or a snapshot moves a
server (or an image) through its transitional state, which ends after
``settle`` reads of it, as the real API's does after a delay. Every
request stays in requests-mock's history for the tests to assert.
"""

from __future__ import annotations

import re
from typing import Any

import requests_mock as rm

from rax_scheduled_images_python_novaclient_ext import provenance
from rax_scheduled_images_python_novaclient_ext import schedule as domain

from .conftest import COMPUTE, IMAGE, SERVER_ID

WEB = SERVER_ID
OTHER = "0ddba11e-0000-4000-8000-000000000009"
OLD = "11111111-bbbb-4bbb-8bbb-000000000001"
NEW = "22222222-bbbb-4bbb-8bbb-000000000002"
KEPT = "33333333-bbbb-4bbb-8bbb-000000000003"
FOREIGN = "44444444-bbbb-4bbb-8bbb-000000000004"
FLAVORS = {
    "f20": {"id": "f20", "name": "m.20", "disk": 20, "ram": 1, "vcpus": 1},
    "f40": {"id": "f40", "name": "m.40", "disk": 40, "ram": 1, "vcpus": 1},
    "f0": {"id": "f0", "name": "vol", "disk": 0, "ram": 1, "vcpus": 1},
}
NOT_FOUND = {"itemNotFound": {"code": 404, "message": "not found"}}


def glance(
    id_: str,
    day: int,
    server: str = WEB,
    *,
    marked: bool = True,
    status: str = "active",
    min_disk: int = 20,
    name: str | None = None,
    kept: bool = False,
) -> dict[str, Any]:
    image: dict[str, Any] = {
        "id": id_,
        "name": name or f"Daily-web-17{day:02d}",
        "status": status,
        "created_at": f"2026-11-{day:02d}T03:00:00Z",
        "instance_uuid": server,
        "size": 1073741824,
        "min_disk": min_disk,
        "owner": "p1",
    }
    if marked:
        image[domain.CREATED_BY_KEY] = domain.CREATED_BY_VALUE
    if kept:
        image[provenance.KEPT_KEY] = provenance.KEPT_VALUE
    return image


def nova_server(
    id_: str = WEB,
    name: str = "web",
    *,
    status: str = "ACTIVE",
    task: str | None = None,
    image: Any = None,
    flavor: str = "f20",
    metadata: dict[str, str] | None = None,
    tenant: str = "p1",
) -> dict[str, Any]:
    return {
        "id": id_,
        "name": name,
        "status": status,
        "OS-EXT-STS:task_state": task,
        "image": {"id": "base-image", "links": []} if image is None else image,
        "flavor": {"id": flavor, "links": []},
        "addresses": {"public": [{"addr": "127.0.0.1", "version": 4}]},
        "metadata": metadata or {},
        "tenant_id": tenant,
        "links": [],
    }


class Cloud:
    """The servers and images a restore sees, and how they change.

    :param settle: how many reads a transitional state lasts.
    :param boot: what a create ends in: ``ACTIVE`` or ``ERROR``, or
        ``BUILD`` for ever (a boot that times out).
    :param snapshot: what a snapshot ends in (``active``, ``killed``).
    """

    def __init__(self, mock: rm.Mocker, settle: int = 1) -> None:
        self.mock = mock
        self.settle = settle
        self.servers: dict[str, dict[str, Any]] = {WEB: nova_server()}
        self.images: dict[str, dict[str, Any]] = {
            OLD: glance(OLD, 1),
            NEW: glance(NEW, 3),
            FOREIGN: glance(FOREIGN, 4, OTHER),
        }
        self.boot = "ACTIVE"
        self.snapshot = "active"
        self.create_status = 202
        self.create_error: dict[str, Any] = {}
        self.pending: dict[str, list[Any]] = {}
        self.created = 0
        self.on_read: Any = None
        self._register()

    # -- the routes --------------------------------------------------------

    def _register(self) -> None:
        m = self.mock
        server = re.compile(rf"{COMPUTE}/servers/(?!detail)[^/?]+$")
        m.get(server, json=self._get_server)
        m.delete(server, json=self._delete_server)
        m.get(re.compile(rf"{COMPUTE}/servers\?name="), json=self._named)
        m.get(re.compile(rf"{COMPUTE}/servers/detail"), json=self._detail)
        m.get(re.compile(rf"{COMPUTE}/flavors/detail"), json=self._flavors)
        m.get(
            re.compile(rf"{COMPUTE}/flavors/(?!detail)[^/?]+$"),
            json=self._flavor,
        )
        m.post(f"{COMPUTE}/servers", json=self._create)
        m.post(
            re.compile(rf"{COMPUTE}/servers/[^/]+/action$"),
            # Looked up at each request, so a test can wrap it.
            json=lambda request, context: self._action(request, context),
        )
        m.get(re.compile(rf"{IMAGE}/v2/images\?"), json=self._list_images)
        image = re.compile(rf"{IMAGE}/v2/images/[^/?]+$")
        m.get(image, json=self._get_image)
        m.patch(image, json=self._patch_image)

    @staticmethod
    def _id(request: Any) -> str:
        return str(request.path.rstrip("/").rsplit("/", 1)[1])

    def _tick(self, key: str, record: dict[str, Any]) -> None:
        """A transitional state ends after ``settle`` reads."""
        steps = self.pending.get(key)
        if not steps:
            return
        steps[0] -= 1
        if steps[0] <= 0:
            record.update(steps[1])
            del self.pending[key]

    def _get_server(self, request: Any, context: Any) -> Any:
        if self.on_read is not None:
            self.on_read(request)
        found = self.servers.get(self._id(request))
        if found is None:
            context.status_code = 404
            return NOT_FOUND
        self._tick(found["id"], found)
        return {"server": found}

    def _delete_server(self, request: Any, context: Any) -> Any:
        if self.servers.pop(self._id(request), None) is None:
            context.status_code = 404
            return NOT_FOUND
        context.status_code = 204
        return None

    def _named(self, request: Any, context: Any) -> Any:
        name = request.qs["name"][0]
        return {
            "servers": [
                {"id": s["id"], "name": s["name"], "links": []}
                for s in self.servers.values()
                if s["name"].lower() == name
            ]
        }

    def _detail(self, request: Any, context: Any) -> Any:
        return {"servers": list(self.servers.values())}

    def _flavors(self, request: Any, context: Any) -> Any:
        return {"flavors": list(FLAVORS.values())}

    def _flavor(self, request: Any, context: Any) -> Any:
        found = FLAVORS.get(self._id(request))
        if found is None:
            context.status_code = 404
            return NOT_FOUND
        return {"flavor": found}

    def _create(self, request: Any, context: Any) -> Any:
        if self.create_status != 202:
            context.status_code = self.create_status
            return self.create_error
        body = request.json()["server"]
        self.created += 1
        new_id = f"eeeeeeee-0000-4000-8000-{self.created:012d}"
        made = nova_server(
            new_id,
            body["name"],
            status="BUILD",
            task="spawning",
            image={"id": body["imageRef"], "links": []},
            flavor=body["flavorRef"],
            metadata=body.get("metadata"),
        )
        self.servers[new_id] = made
        final: dict[str, Any] = {
            "status": self.boot,
            "OS-EXT-STS:task_state": None,
        }
        if self.boot == "ERROR":
            final["fault"] = {
                "code": 500,
                "message": "No valid host was found.",
            }
        if self.boot != "BUILD":
            self.pending[new_id] = [self.settle, final]
        context.status_code = 202
        return {"server": {"id": new_id, "links": [], "adminPass": "x"}}

    def _action(self, request: Any, context: Any) -> Any:
        server_id = request.path.split("/")[-2]
        found = self.servers[server_id]
        body = request.json()
        if "rebuild" in body:
            image_id = body["rebuild"]["imageRef"]
            found.update(
                status="REBUILD", **{"OS-EXT-STS:task_state": "rebuilding"}
            )
            final = {
                "status": self.boot if self.boot != "BUILD" else "REBUILD",
                "OS-EXT-STS:task_state": None,
                "image": {"id": image_id, "links": []},
            }
            if self.boot == "ERROR":
                final["fault"] = {"code": 500, "message": "Rebuild failed."}
            if self.boot != "BUILD":
                self.pending[server_id] = [self.settle, final]
            context.status_code = 202
            return {"server": found}
        name = body["createImage"]["name"]
        image_id = f"5afe0000-0000-4000-8000-{len(self.images):012d}"
        self.images[image_id] = {
            **glance(image_id, 9, server_id, marked=False, name=name),
            "status": "queued",
            **body["createImage"].get("metadata", {}),
        }
        self.pending[image_id] = [self.settle, {"status": self.snapshot}]
        found["OS-EXT-STS:task_state"] = "image_snapshot"
        self.pending[server_id] = [
            self.settle + 1,
            {"OS-EXT-STS:task_state": None},
        ]
        context.status_code = 202
        context.headers["Location"] = f"{IMAGE}/v2/images/{image_id}"
        return None

    def _list_images(self, request: Any, context: Any) -> Any:
        query = dict(
            pair.split("=", 1) for pair in request.query.split("&") if pair
        )
        server_id = query.get("instance_uuid")
        name = query.get("name")
        return {
            "images": [
                i for i in self.images.values()
                if server_id in (None, i.get("instance_uuid"))
                and name in (None, i.get("name").lower())
            ]
        }  # fmt: skip

    def _get_image(self, request: Any, context: Any) -> Any:
        found = self.images.get(self._id(request))
        if found is None:
            context.status_code = 404
            return {"message": "No image found"}
        self._tick(found["id"], found)
        return found

    def _patch_image(self, request: Any, context: Any) -> Any:
        found = self.images[self._id(request)]
        for op in request.json():
            key = op["path"].lstrip("/")
            if op["op"] == "remove":
                found.pop(key, None)
            else:
                found[key] = op["value"]
        return found

    # -- what the tests read ----------------------------------------------

    def writes(self) -> list[tuple[str, str]]:
        """(method, path) of every request that changes something."""
        return [
            (r.method, r.path)
            for r in self.mock.request_history
            if r.method in ("POST", "PUT", "PATCH", "DELETE")
            and r.hostname != "identity.test"
        ]

    def actions(self) -> list[str]:
        """The server actions sent, in order: rebuild, createImage."""
        return [
            next(iter(r.json()))
            for r in self.mock.request_history
            if r.method == "POST" and r.path.endswith("/action")
        ]
