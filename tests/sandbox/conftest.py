"""Fixtures: a sandbox on a free loopback port, and logged-in clients."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox

DEMO_PROJECT = "100001"
ALT_PROJECT = "100002"
MYSERVER = "24ade2fe-60d9-4d3e-a02c-c9a6a1b588a6"
WEB_IDS = (
    "6c1f0a4e-2b7d-4f0e-9a51-3d2e8b7c9f01",
    "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
)
DB = "3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69"
ALT_APP = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
ALT_MYSERVER = "5d1e0f2a-7b3c-4d8e-9f0a-1b2c3d4e5f60"
MARK = "org.openstack__1__created_by"


def v3_body(user: str, password: str = "secret") -> dict[str, Any]:
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": user,
                        "domain": {"id": "default"},
                        "password": password,
                    }
                },
            },
            "scope": {"project": {"name": user, "domain": {"id": "default"}}},
        }
    }


class Client:
    """A logged-in user of the sandbox, speaking plain HTTP."""

    def __init__(self, cloud: Sandbox, user: str) -> None:
        self.cloud = cloud
        self.session = requests.Session()
        answer = self.session.post(
            cloud.auth_url("v3") + "/auth/tokens", json=v3_body(user)
        )
        assert answer.status_code == 201, answer.text
        self.token = answer.headers["X-Subject-Token"]
        self.project = answer.json()["token"]["project"]["id"]
        self.session.headers["X-Auth-Token"] = self.token
        self.compute = f"{cloud.url}/compute/v2/{self.project}"
        self.image = f"{cloud.url}/image"

    def request(
        self, method: str, url: str, **kwargs: Any
    ) -> requests.Response:
        """One request with this user's token, never waiting forever."""
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, url, **kwargs)

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", url, **kwargs)

    def schedule_url(self, server: str, alias: str | None = None) -> str:
        return f"{self.compute}/servers/{server}/{alias or self.cloud.alias}"

    def images(self, **params: str) -> list[dict[str, Any]]:
        """Every image matching `params`, following `next` links."""
        found: list[dict[str, Any]] = []
        answer = self.get(f"{self.image}/v2/images", params=params)
        while True:
            assert answer.status_code == 200, answer.text
            found += answer.json()["images"]
            link = answer.json().get("next")
            if not link:
                return found
            answer = self.get(self.image + link)


@pytest.fixture
def cloud() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture(params=["os-si-image-schedule", "rax-si-image-schedule"])
def any_cloud(request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A sandbox serving each of the two names in turn."""
    with Sandbox(alias=request.param) as sandbox:
        yield sandbox


@pytest.fixture
def demo(cloud: Sandbox) -> Client:
    return Client(cloud, "demo")


@pytest.fixture
def alt(cloud: Sandbox) -> Client:
    return Client(cloud, "alt")


def fault(answer: requests.Response) -> tuple[int, str, str]:
    """(status, fault name, message) of a Nova-style error answer."""
    body = answer.json()
    assert len(body) == 1, body
    ((name, inner),) = body.items()
    assert inner["code"] == answer.status_code
    return answer.status_code, name, inner["message"]
