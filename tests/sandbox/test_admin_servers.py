"""POST /sandbox/servers: servers with any name, for the client's tests
of terminals that cannot show one."""

from __future__ import annotations

import requests

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox

from .conftest import ALT_PROJECT, MYSERVER, Client

NAME = "café ☕ 🚀"
NEW_ID = "55555555-5555-4555-8555-555555555555"


def add_server(cloud: Sandbox, **body: object) -> requests.Response:
    return requests.post(f"{cloud.url}/sandbox/servers", json=body, timeout=10)


def test_added_server_is_listed_found_by_name_and_can_be_scheduled(
    cloud: Sandbox, demo: Client
) -> None:
    answer = add_server(cloud, name=NAME, id=NEW_ID)
    assert answer.status_code == 201, answer.text
    assert answer.json() == {
        "server": {"id": NEW_ID, "name": NAME, "project_id": "100001"}
    }
    found = demo.get(f"{demo.compute}/servers", params={"name": NAME})
    assert [s["id"] for s in found.json()["servers"]] == [NEW_ID]
    shown = demo.get(f"{demo.compute}/servers/{NEW_ID}")
    assert shown.json()["server"]["name"] == NAME
    enabled = demo.post(
        f"{demo.compute}/servers/{NEW_ID}/os-si-image-schedule",
        json={"image_schedule": {"retention": 2}},
    )
    assert enabled.status_code == 200, enabled.text
    cloud.tick()
    with cloud.lock:
        names = [
            image.name
            for image in cloud.state.images.values()
            if image.properties.get("instance_uuid") == NEW_ID
        ]
    assert len(names) == 1 and names[0].startswith(f"Daily-{NAME}-")


def test_added_server_of_another_project_is_not_seen(
    cloud: Sandbox, demo: Client
) -> None:
    answer = add_server(cloud, name=NAME, project_id=ALT_PROJECT)
    assert answer.status_code == 201, answer.text
    server_id = answer.json()["server"]["id"]
    shown = demo.get(f"{demo.compute}/servers/{server_id}")
    assert shown.status_code == 404


def test_bad_server_bodies_are_refused(cloud: Sandbox) -> None:
    for body, status in (
        ({}, 400),
        ({"name": " "}, 400),
        ({"name": "x", "project_id": "999"}, 400),
        ({"name": "x", "id": "not-a-uuid"}, 400),
        ({"name": "x", "id": "24ade2fe-60d9-4d3e-a02c-c9a6a1b588a6"}, 409),
    ):
        assert add_server(cloud, **body).status_code == status, body


def test_added_server_metadata_is_shown_in_its_detail_and_the_list(
    cloud: Sandbox, demo: Client
) -> None:
    answer = add_server(
        cloud, name="meta", id=NEW_ID, metadata={"backup": "weekly"}
    )
    assert answer.status_code == 201, answer.text
    shown = demo.get(f"{demo.compute}/servers/{NEW_ID}").json()["server"]
    assert shown["metadata"] == {"backup": "weekly"}
    listed = demo.get(f"{demo.compute}/servers/detail").json()["servers"]
    by_id = {server["id"]: server["metadata"] for server in listed}
    assert by_id[NEW_ID] == {"backup": "weekly"}
    assert by_id[MYSERVER] == {}
    bad = add_server(cloud, name="meta2", metadata={"backup": 1})
    assert bad.status_code == 400
