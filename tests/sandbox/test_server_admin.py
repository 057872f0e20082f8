"""server_admin.py: the lifecycle's knobs under /sandbox (not logged),
and the options POST /sandbox/servers and /sandbox/images gained."""

from __future__ import annotations

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox

from .conftest import ALT_PROJECT, MYSERVER, Client, fault
from .lifecycle_helpers import BASE_IMAGE, admin, create, show

UNKNOWN = "00000000-1111-4222-8333-444444444444"


def test_summary_shows_the_server_port_and_the_delay(cloud: Sandbox) -> None:
    summary = admin(cloud, "GET", "").json()
    assert summary["server_port"] == cloud.server_port != 0
    assert summary["action_delay"] == 0.5
    assert summary["quotas"] == {}


def test_action_delay_is_set_and_bad_values_are_refused(
    cloud: Sandbox,
) -> None:
    answer = admin(cloud, "PUT", "/action-delay", {"seconds": 2.0})
    assert answer.json() == {"seconds": 2.0}
    assert cloud.lifecycle.action_delay == 2.0
    for bad in (-1, "2", None, True, 4000):
        answer = admin(cloud, "PUT", "/action-delay", {"seconds": bad})
        assert fault(answer)[0] == 400, bad
    assert admin(cloud, "GET", "/action-delay").json() == {"seconds": 2.0}


def test_quota_of_another_project_and_bad_values(cloud: Sandbox) -> None:
    answer = admin(
        cloud, "PUT", "/quota", {"project_id": ALT_PROJECT, "instances": 2}
    )
    assert answer.json() == {"quotas": {ALT_PROJECT: 2}}
    alt = Client(cloud, "alt")  # alt has 2 servers already
    assert fault(create(alt))[0] == 403
    assert create(Client(cloud, "demo")).status_code == 202
    for bad in (-1, "3", 1.5):
        assert (
            fault(admin(cloud, "PUT", "/quota", {"instances": bad}))[0] == 400
        )


def test_outcome_knobs_refuse_bad_outcomes_and_unknown_ids(
    cloud: Sandbox,
) -> None:
    cases = [
        (f"/images/{BASE_IMAGE}/boot", {"outcome": "maybe"}, 400),
        (f"/images/{UNKNOWN}/boot", {"outcome": "ok"}, 404),
        (f"/servers/{MYSERVER}/snapshot", {"outcome": "fail"}, 400),
        (f"/servers/{UNKNOWN}/snapshot", {"outcome": "ok"}, 404),
        (f"/servers/{MYSERVER}/state", {"status": "DELETED"}, 400),
        (
            f"/servers/{MYSERVER}/state",
            {"status": "ACTIVE", "task_state": 1},
            400,
        ),
        (f"/servers/{UNKNOWN}/state", {"status": "ACTIVE"}, 404),
    ]
    for path, body, status in cases:
        assert admin(cloud, "PUT", path, body).status_code == status, path
    assert admin(cloud, "GET", f"/servers/{UNKNOWN}").status_code == 404


def test_state_is_set_by_hand_and_shows_in_the_api(
    cloud: Sandbox, demo: Client
) -> None:
    answer = admin(
        cloud,
        "PUT",
        f"/servers/{MYSERVER}/state",
        {"status": "SHUTOFF", "task_state": "powering-on"},
    )
    assert answer.status_code == 200, answer.text
    server = show(demo, MYSERVER)
    assert (
        server["status"],
        server["OS-EXT-STS:task_state"],
        server["OS-EXT-STS:vm_state"],
    ) == ("SHUTOFF", "powering-on", "stopped")


def test_the_record_of_a_server(cloud: Sandbox) -> None:
    record = admin(cloud, "GET", f"/servers/{MYSERVER}").json()
    assert record == {
        "id": MYSERVER,
        "name": "myserver",
        "project_id": "100001",
        "status": "ACTIVE",
        "task_state": None,
        "vm_state": "active",
        "image_id": BASE_IMAGE,
        "volume_backed": False,
        "flavor": "general1-1",
        "address": "127.0.1.2",
        "addresses": {"public": ["127.0.1.2"]},
        "port": cloud.server_port,
        "answering": True,
        "answers_tcp": True,
        "fault": None,
        "metadata": {},
        "snapshot_outcome": "ok",
    }


def test_added_server_takes_flavor_image_volume_and_metadata(
    cloud: Sandbox, demo: Client
) -> None:
    image = admin(cloud, "POST", "/images", {"server_id": MYSERVER}).json()[
        "id"
    ]
    body = {
        "name": "a",
        "flavor": "general1-4",
        "image_id": image,
        "metadata": {"k": "v"},
    }
    server_id = admin(cloud, "POST", "/servers", body).json()["server"]["id"]
    server = show(demo, server_id)
    assert (server["flavor"]["id"], server["image"]["id"]) == (
        "general1-4",
        image,
    )
    assert server["metadata"] == {"k": "v"}
    assert cloud.server_record(server_id)["answering"] is True
    volume = admin(
        cloud, "POST", "/servers", {"name": "v", "volume_backed": True}
    )
    assert show(demo, volume.json()["server"]["id"])["image"] == ""


@pytest.mark.parametrize(
    "body",
    [{"flavor": "nope"}, {"image_id": UNKNOWN}, {"metadata": {"k": 1}}],
)
def test_added_server_refuses_bad_options(cloud: Sandbox, body: dict) -> None:
    answer = admin(cloud, "POST", "/servers", {"name": "a", **body})
    assert answer.status_code == 400


def test_added_image_takes_min_disk(cloud: Sandbox, demo: Client) -> None:
    answer = admin(
        cloud, "POST", "/images", {"server_id": MYSERVER, "min_disk": 80}
    )
    assert answer.json()["min_disk"] == 80
    shown = demo.get(f"{demo.image}/v2/images/{answer.json()['id']}").json()
    assert shown["min_disk"] == 80
    bad = admin(
        cloud, "POST", "/images", {"server_id": MYSERVER, "min_disk": -1}
    )
    assert bad.status_code == 400


def test_knobs_are_not_logged(cloud: Sandbox) -> None:
    cloud.clear_requests()
    admin(cloud, "PUT", "/action-delay", {"seconds": 1})
    admin(cloud, "PUT", "/quota", {"instances": 9})
    admin(cloud, "PUT", f"/images/{BASE_IMAGE}/boot", {"outcome": "ok"})
    admin(cloud, "GET", f"/servers/{MYSERVER}")
    assert cloud.requests == []


def test_error_set_by_hand_comes_with_a_fault(
    cloud: Sandbox, demo: Client
) -> None:
    admin(cloud, "PUT", f"/servers/{MYSERVER}/state", {"status": "ERROR"})
    assert show(demo, MYSERVER)["fault"]["message"] == (
        "Set to ERROR by the sandbox's admin API."
    )
    body = {"status": "ERROR", "fault": "disk on fire"}
    admin(cloud, "PUT", f"/servers/{MYSERVER}/state", body)
    assert show(demo, MYSERVER)["fault"]["message"] == "disk on fire"
    admin(cloud, "PUT", f"/servers/{MYSERVER}/state", {"status": "ACTIVE"})
    assert "fault" not in show(demo, MYSERVER)
