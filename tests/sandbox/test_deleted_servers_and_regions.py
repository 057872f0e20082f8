"""Deleted servers, other projects' images and a second region.

What the orphan commands are tested against must behave as the real
service does: a deleted server's images stay (and nothing prunes them),
another project's public images are listed but not ours to delete, and
a catalog can list two regions.
"""

from __future__ import annotations

import requests

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox
from rax_scheduled_images_python_novaclient_ext.sandbox.cli import (
    build_parser,
)

from .conftest import ALT_APP, DB, DEMO_PROJECT, MARK, Client, v3_body


def admin_delete(cloud: Sandbox, server_id: str) -> requests.Response:
    return requests.delete(f"{cloud.url}/sandbox/servers/{server_id}")


def test_a_deleted_server_leaves_its_images_and_loses_its_schedule(
    cloud, demo
):
    before = demo.images(instance_uuid=DB)
    assert len(before) == 4
    assert admin_delete(cloud, DB).status_code == 204
    assert demo.get(f"{demo.compute}/servers/{DB}").status_code == 404
    assert demo.get(demo.schedule_url(DB)).status_code == 404
    listed = demo.get(f"{demo.compute}/servers").json()["servers"]
    assert DB not in [s["id"] for s in listed]
    assert len(listed) == 3
    # Nothing prunes them: the schedule went with the server.
    cloud.tick(days=10)
    after = demo.images(instance_uuid=DB)
    assert sorted(i["id"] for i in after) == sorted(i["id"] for i in before)
    assert admin_delete(cloud, DB).status_code == 404


def test_server_list_paging_still_works_after_a_delete(cloud, demo):
    every = [
        s["id"] for s in demo.get(f"{demo.compute}/servers").json()["servers"]
    ]
    assert admin_delete(cloud, every[0]).status_code == 204
    rest = demo.get(f"{demo.compute}/servers?marker={every[1]}").json()
    assert [s["id"] for s in rest["servers"]] == every[2:]


def test_another_projects_public_image_is_seen_but_not_ours(cloud, demo):
    answer = requests.post(
        f"{cloud.url}/sandbox/images",
        json={"server_id": ALT_APP, "visibility": "public"},
    )
    assert answer.status_code == 201, answer.text
    image = answer.json()
    assert image["owner"] == "100002" and image[MARK]
    # demo sees it, cannot see its server, and cannot delete it.
    assert image["id"] in [i["id"] for i in demo.images()]
    assert image["id"] not in [
        i["id"] for i in demo.images(owner=DEMO_PROJECT)
    ]
    assert demo.get(f"{demo.compute}/servers/{ALT_APP}").status_code == 404
    refused = demo.delete(f"{demo.image}/v2/images/{image['id']}")
    assert refused.status_code == 403


def test_bad_visibility_is_refused(cloud):
    answer = requests.post(
        f"{cloud.url}/sandbox/images",
        json={"server_id": DB, "visibility": "everyone"},
    )
    assert answer.status_code == 400


def catalog(cloud: Sandbox) -> dict[str, list[tuple[str, str]]]:
    body = requests.post(
        cloud.auth_url("v3") + "/auth/tokens", json=v3_body("demo")
    ).json()
    return {
        service["type"]: [
            (e["region"], e["url"])
            for e in service["endpoints"]
            if e["interface"] == "public"
        ]
        for service in body["token"]["catalog"]
    }


def test_a_second_region_comes_first_for_compute_last_for_image():
    with Sandbox(second_region="RegionTwo") as cloud:
        found = catalog(cloud)
        other = f"{cloud.url}/other-region"
        assert found["compute"] == [
            ("RegionTwo", f"{other}/compute/v2/{DEMO_PROJECT}"),
            ("RegionOne", f"{cloud.url}/compute/v2/{DEMO_PROJECT}"),
        ]
        assert found["image"] == [
            ("RegionOne", f"{cloud.url}/image"),
            ("RegionTwo", f"{other}/image"),
        ]
        demo = Client(cloud, "demo")
        servers = demo.get(f"{other}/compute/v2/{DEMO_PROJECT}/servers")
        assert servers.status_code == 200
        assert servers.json()["servers"] == []
        assert (
            demo.get(f"{other}/compute/v2/{DEMO_PROJECT}/servers/{DB}")
        ).status_code == 404
        images = demo.get(f"{other}/image/v2/images").json()["images"]
        assert images == []
        # The first region is unchanged.
        assert len(demo.images(instance_uuid=DB)) == 4


def test_v2_catalog_lists_the_second_region_too():
    with Sandbox(second_region="ORD") as cloud:
        body = requests.post(
            cloud.auth_url("v2.0") + "/tokens",
            json={
                "auth": {
                    "passwordCredentials": {
                        "username": "demo",
                        "password": "secret",
                    }
                }
            },
        ).json()
        regions = {
            s["type"]: [e["region"] for e in s["endpoints"]]
            for s in body["access"]["serviceCatalog"]
        }
        assert regions["compute"] == ["ORD", "RegionOne"]
        assert regions["image"] == ["RegionOne", "ORD"]
        assert regions["identity"] == ["RegionOne"]


def test_no_second_region_unless_asked(cloud, demo):
    assert [r for r, _ in catalog(cloud)["compute"]] == ["RegionOne"]
    answer = demo.get(f"{cloud.url}/other-region/image/v2/images")
    assert answer.status_code == 404


def test_cli_takes_a_second_region():
    args = build_parser().parse_args(["serve", "--second-region", "ORD"])
    assert args.second_region == "ORD"


def set_answer(cloud: Sandbox, server_id: str, status: object) -> int:
    return requests.put(
        f"{cloud.url}/sandbox/servers/{server_id}/answer",
        json={"status": status},
    ).status_code


def test_a_server_can_be_made_to_answer_an_error(cloud, demo):
    assert set_answer(cloud, DB, 503) == 204
    answer = demo.get(f"{demo.compute}/servers/{DB}")
    assert answer.status_code == 503
    # Only the server's own GET: its schedule and the list still answer.
    assert demo.get(demo.schedule_url(DB)).status_code == 200
    assert demo.get(f"{demo.compute}/servers").status_code == 200
    logged = [r for r in cloud.requests if r["path"].endswith(f"s/{DB}")]
    assert [r["status"] for r in logged] == [503]
    assert set_answer(cloud, DB, 0) == 204
    assert demo.get(f"{demo.compute}/servers/{DB}").status_code == 200


def test_a_forced_answer_must_be_an_error_code(cloud):
    assert set_answer(cloud, DB, 200) == 400
    assert set_answer(cloud, DB, "503") == 400
    assert set_answer(cloud, DB, True) == 400
