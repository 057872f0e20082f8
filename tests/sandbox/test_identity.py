"""Identity: discovery, Keystone v3, v2.0 and Rackspace API keys."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import generic

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox

from .conftest import ALT_PROJECT, DEMO_PROJECT, fault, v3_body


def test_root_lists_v3_and_v2(cloud: Sandbox) -> None:
    answer = requests.get(f"{cloud.url}/identity")
    assert answer.status_code == 300
    ids = [v["id"] for v in answer.json()["versions"]["values"]]
    assert ids == ["v3.14", "v2.0"]


@pytest.mark.parametrize("version", ["v3", "v2.0"])
def test_version_documents(cloud: Sandbox, version: str) -> None:
    answer = requests.get(cloud.auth_url(version))
    assert answer.status_code == 200
    links = answer.json()["version"]["links"]
    assert links[0]["href"] == f"{cloud.url}/identity/{version}/"


def test_v3_token_has_catalog_and_project(cloud: Sandbox) -> None:
    answer = requests.post(
        cloud.auth_url() + "/auth/tokens", json=v3_body("demo")
    )
    assert answer.status_code == 201
    assert answer.headers["X-Subject-Token"]
    token = answer.json()["token"]
    assert token["project"] == {
        "id": DEMO_PROJECT,
        "name": "demo",
        "domain": {"id": "default", "name": "Default"},
    }
    assert token["user"]["name"] == "demo"
    assert token["expires_at"].endswith("Z")
    urls = {
        entry["type"]: entry["endpoints"][0]["url"]
        for entry in token["catalog"]
    }
    assert urls["compute"] == f"{cloud.url}/compute/v2/{DEMO_PROJECT}"
    assert urls["image"] == f"{cloud.url}/image"
    assert {
        e["region_id"] for c in token["catalog"] for e in c["endpoints"]
    } == {"RegionOne"}


def test_v3_wrong_password_is_401(cloud: Sandbox) -> None:
    answer = requests.post(
        cloud.auth_url() + "/auth/tokens", json=v3_body("demo", "nope")
    )
    assert answer.status_code == 401
    assert answer.json()["error"]["message"] == (
        "The request you have made requires authentication."
    )


def test_v3_scope_to_someone_elses_project_is_401(cloud: Sandbox) -> None:
    body = v3_body("demo")
    body["auth"]["scope"] = {"project": {"id": ALT_PROJECT}}
    answer = requests.post(cloud.auth_url() + "/auth/tokens", json=body)
    assert answer.status_code == 401


def test_unscoped_token_cannot_use_compute(cloud: Sandbox) -> None:
    body = v3_body("demo")
    del body["auth"]["scope"]
    answer = requests.post(cloud.auth_url() + "/auth/tokens", json=body)
    assert answer.status_code == 201
    assert "catalog" not in answer.json()["token"]
    compute = requests.get(
        f"{cloud.url}/compute/v2/{DEMO_PROJECT}/servers",
        headers={"X-Auth-Token": answer.headers["X-Subject-Token"]},
    )
    assert compute.status_code == 401


def test_v2_password(cloud: Sandbox) -> None:
    answer = requests.post(
        cloud.auth_url("v2.0") + "/tokens",
        json={
            "auth": {
                "passwordCredentials": {
                    "username": "alt",
                    "password": "secret",
                },
                "tenantName": "alt",
            }
        },
    )
    assert answer.status_code == 200
    access = answer.json()["access"]
    assert access["token"]["tenant"]["id"] == ALT_PROJECT
    compute = [c for c in access["serviceCatalog"] if c["type"] == "compute"]
    assert compute[0]["endpoints"][0]["publicURL"] == (
        f"{cloud.url}/compute/v2/{ALT_PROJECT}"
    )


def test_v2_api_key_without_tenant_scopes_to_own(cloud: Sandbox) -> None:
    # What rackspaceauth's rackspace_apikey plugin sends, tenant and all.
    answer = requests.post(
        cloud.auth_url("v2.0") + "/tokens",
        json={
            "auth": {
                "RAX-KSKEY:apiKeyCredentials": {
                    "username": "demo",
                    "apiKey": "demo-api-key",
                }
            }
        },
    )
    assert answer.status_code == 200
    access = answer.json()["access"]
    assert access["token"]["tenant"]["id"] == DEMO_PROJECT
    assert access["token"]["RAX-AUTH:authenticatedBy"] == ["APIKEY"]


@pytest.mark.parametrize(
    "auth",
    [
        {"RAX-KSKEY:apiKeyCredentials": {"username": "demo", "apiKey": "x"}},
        {"passwordCredentials": {"username": "demo", "password": "x"}},
        {"passwordCredentials": {"username": "ghost", "password": "x"}},
        {
            "passwordCredentials": {"username": "demo", "password": "secret"},
            "tenantId": ALT_PROJECT,
        },
    ],
)
def test_v2_bad_credentials_are_401(cloud: Sandbox, auth: dict) -> None:
    answer = requests.post(
        cloud.auth_url("v2.0") + "/tokens", json={"auth": auth}
    )
    assert fault(answer)[:2] == (401, "unauthorized")


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"auth": 3}', b'{"a": {}}'])
def test_v2_bad_body_is_400(cloud: Sandbox, body: bytes) -> None:
    answer = requests.post(cloud.auth_url("v2.0") + "/tokens", data=body)
    assert fault(answer) == (400, "badRequest", "Invalid json request body")


@pytest.mark.parametrize("body", [b"{", b"[]", b'{"auth": {}}'])
def test_v3_bad_body_is_400(cloud: Sandbox, body: bytes) -> None:
    answer = requests.post(cloud.auth_url() + "/auth/tokens", data=body)
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == 400


@pytest.mark.parametrize("version", ["", "v3", "v2.0"])
def test_keystoneauth_generic_password_plugin(
    cloud: Sandbox, version: str
) -> None:
    """keystoneauth discovers the version and finds compute in the catalog."""
    domains: dict[str, Any] = {}
    if version != "v2.0":
        domains = {"user_domain_id": "default", "project_domain_id": "default"}
    auth = generic.Password(
        auth_url=cloud.auth_url(version),
        username="demo",
        password="secret",
        project_name="demo",
        **domains,
    )
    sess = ks_session.Session(auth=auth)
    endpoint = sess.get_endpoint(service_type="compute", interface="public")
    assert endpoint == f"{cloud.url}/compute/v2/{DEMO_PROJECT}"
    answer = sess.get(endpoint + "/servers", raise_exc=False)
    assert answer.status_code == 200


def test_rackspaceauth_api_key_plugin(cloud: Sandbox) -> None:
    rackspaceauth = pytest.importorskip("rackspaceauth.v2")
    auth = rackspaceauth.APIKey(
        username="demo",
        api_key="demo-api-key",
        auth_url=cloud.auth_url("v2.0"),
    )
    sess = ks_session.Session(auth=auth)
    endpoint = sess.get_endpoint(service_type="compute", interface="public")
    assert endpoint == f"{cloud.url}/compute/v2/{DEMO_PROJECT}"
    assert sess.get(endpoint + "/servers").status_code == 200
