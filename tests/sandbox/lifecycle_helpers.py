"""Helpers of the server lifecycle tests: create, wait, knobs, TCP."""

from __future__ import annotations

import socket
import time
from typing import Any

import requests

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox

from .conftest import Client

BASE_IMAGE = "0f5c4a7e-1d2b-4c3a-9e8f-7a6b5c4d3e2f"  # min_disk 20
PUBLIC_NET = "00000000-0000-0000-0000-000000000000"


def admin(
    cloud: Sandbox, method: str, path: str, body: Any = None
) -> requests.Response:
    return requests.request(
        method, f"{cloud.url}/sandbox{path}", json=body, timeout=10
    )


def create(
    client: Client,
    name: str = "new",
    image: str = BASE_IMAGE,
    flavor: str = "general1-1",
    **extra: Any,
) -> requests.Response:
    body = {"name": name, "imageRef": image, "flavorRef": flavor, **extra}
    return client.post(f"{client.compute}/servers", json={"server": body})


def show(client: Client, server_id: str, **headers: str) -> dict[str, Any]:
    answer = client.get(
        f"{client.compute}/servers/{server_id}", headers=headers
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["server"]  # type: ignore[no-any-return]


def act(
    client: Client, server_id: str, body: Any, **headers: str
) -> requests.Response:
    return client.post(
        f"{client.compute}/servers/{server_id}/action",
        json=body,
        headers=headers,
    )


def finish(cloud: Sandbox) -> None:
    """End every action in progress: the delay applies to them too."""
    cloud.set_action_delay(0)


def wait_status(
    client: Client, server_id: str, wanted: str, timeout: float = 20
) -> dict[str, Any]:
    """Poll until the server shows `wanted` (a client's wait loop)."""
    deadline = time.monotonic() + timeout
    while True:
        server = show(client, server_id)
        if server["status"] == wanted:
            return server
        assert time.monotonic() < deadline, server
        time.sleep(0.05)


def answers(address: str, port: int) -> bool:
    """Does (address, port) accept a TCP connection?"""
    try:
        with socket.create_connection((address, port), timeout=2):
            return True
    except OSError:
        return False


def address(server: dict[str, Any]) -> str:
    (entry,) = server["addresses"]["public"]
    return entry["addr"]  # type: ignore[no-any-return]
