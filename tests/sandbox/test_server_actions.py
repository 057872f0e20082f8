"""server_actions.py: create, rebuild, createImage and delete through the
Compute API, every refusal with Nova's status and text, and where the
image id goes by microversion."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox

from .conftest import ALT_APP, DEMO_PROJECT, MYSERVER, Client, fault
from .lifecycle_helpers import (
    BASE_IMAGE,
    PUBLIC_NET,
    act,
    admin,
    create,
    finish,
    show,
)

NOVA_VERSION = "X-OpenStack-Nova-API-Version"
API_VERSION = "OpenStack-API-Version"


@pytest.fixture
def slow() -> Iterator[Sandbox]:
    """Actions stay in progress until the test calls finish()."""
    with Sandbox(action_delay=3600) as sandbox:
        yield sandbox


@pytest.fixture
def user(slow: Sandbox) -> Client:
    return Client(slow, "demo")


def image_of(cloud: Sandbox, **body: Any) -> str:
    answer = admin(cloud, "POST", "/images", {"server_id": MYSERVER, **body})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]  # type: ignore[no-any-return]


def server_count(cloud: Sandbox) -> int:
    with cloud.lock:
        return len(cloud.state.servers)


# ----- create --------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": ""}, "Invalid input for field/attribute name."),
        ({"name": None}, "Invalid input for field/attribute name."),
        ({"flavor": "nope"}, "Flavor nope could not be found."),
        ({"image": "nope"}, "Image nope could not be found."),
        ({"image": ""}, "Missing imageRef attribute"),
        (
            {"networks": [{"uuid": "not-a-network"}]},
            "Network not-a-network could not be found.",
        ),
        (
            {"metadata": {"a": 1}},
            "Invalid input for field/attribute metadata.",
        ),
    ],
)
def test_create_refuses_a_bad_request_with_400(
    slow: Sandbox, user: Client, changes: dict[str, Any], message: str
) -> None:
    before = server_count(slow)
    answer = create(user, **changes)
    assert fault(answer) == (400, "badRequest", message)
    assert server_count(slow) == before


def test_create_refuses_an_image_of_another_project(
    slow: Sandbox, user: Client
) -> None:
    image = admin(slow, "POST", "/images", {"server_id": ALT_APP}).json()["id"]
    answer = create(user, image=image)
    assert fault(answer) == (
        400,
        "badRequest",
        f"Image {image} could not be found.",
    )


def test_create_refuses_an_image_not_active(
    slow: Sandbox, user: Client
) -> None:
    image = image_of(slow, status="queued")
    answer = create(user, image=image)
    assert fault(answer) == (
        400,
        "badRequest",
        f"Image {image} is not active.",
    )


@pytest.mark.parametrize(
    ("flavor", "status"),
    [
        ("general1-1", 400),
        ("general1-2", 400),
        ("general1-4", 202),
        ("compute1-4", 202),
    ],
)
def test_min_disk_above_the_flavors_disk_is_refused_unless_it_boots_a_volume(
    slow: Sandbox, user: Client, flavor: str, status: int
) -> None:
    image = image_of(slow, min_disk=80)
    answer = create(user, image=image, flavor=flavor)
    assert answer.status_code == status, answer.text
    if status == 400:
        assert (
            fault(answer)[2]
            == "Flavor's disk is too small for requested image."
        )


@pytest.mark.parametrize(
    "networks", [[{"uuid": PUBLIC_NET}], "auto", "none", None]
)
def test_create_answers_202_with_id_password_and_links(
    slow: Sandbox, user: Client, networks: Any
) -> None:
    extra = {} if networks is None else {"networks": networks}
    answer = create(user, **extra)
    assert answer.status_code == 202, answer.text
    body = answer.json()["server"]
    assert body["adminPass"] and body["links"][0]["href"].endswith(body["id"])
    assert answer.headers["Location"] == body["links"][0]["href"]


def test_each_new_server_gets_its_own_loopback_address(
    slow: Sandbox, user: Client
) -> None:
    ids = [create(user, name=f"n{i}").json()["server"]["id"] for i in range(3)]
    addresses = [show(user, i)["addresses"]["public"][0]["addr"] for i in ids]
    seeded = [show(user, MYSERVER)["addresses"]["public"][0]["addr"]]
    assert len(set(addresses + seeded)) == 4
    assert all(a.startswith("127.0.1.") for a in addresses + seeded)


def test_a_server_booted_from_a_volume_has_no_image(
    slow: Sandbox, user: Client
) -> None:
    mapping = [
        {
            "boot_index": 0,
            "uuid": BASE_IMAGE,
            "source_type": "image",
            "destination_type": "volume",
            "volume_size": 50,
        }
    ]
    answer = create(
        user, image="", flavor="compute1-4", block_device_mapping_v2=mapping
    )
    assert answer.status_code == 202, answer.text
    server = show(user, answer.json()["server"]["id"])
    assert server["image"] == ""


def test_quota_refuses_one_more_server_with_403(
    slow: Sandbox, user: Client
) -> None:
    # demo has 4 servers.
    assert admin(slow, "PUT", "/quota", {"instances": 4}).status_code == 200
    before = server_count(slow)
    answer = create(user)
    assert fault(answer) == (
        403,
        "forbidden",
        "Quota exceeded for instances: Requested 1, but already used 4 of 4 "
        "instances",
    )
    assert server_count(slow) == before
    admin(slow, "PUT", "/quota", {"instances": 5})
    assert create(user).status_code == 202
    assert fault(create(user))[0] == 403
    admin(slow, "PUT", "/quota", {"instances": None})
    assert create(user).status_code == 202


# ----- rebuild ---------------------------------------------------------------


def test_rebuild_while_a_task_is_in_progress_is_409(
    slow: Sandbox, user: Client
) -> None:
    server_id = create(user).json()["server"]["id"]
    answer = act(user, server_id, {"rebuild": {"imageRef": BASE_IMAGE}})
    assert fault(answer) == (
        409,
        "conflictingRequest",
        f"Cannot 'rebuild' instance {server_id} while it is in task_state "
        "spawning",
    )


@pytest.mark.parametrize(
    ("status", "accepted"),
    [("ACTIVE", True), ("SHUTOFF", True), ("ERROR", True), ("BUILD", False)],
)
def test_rebuild_is_accepted_only_from_active_shutoff_and_error(
    slow: Sandbox, user: Client, status: str, accepted: bool
) -> None:
    slow.set_server_state(MYSERVER, status, None)
    answer = act(user, MYSERVER, {"rebuild": {"imageRef": BASE_IMAGE}})
    if accepted:
        assert answer.status_code == 202, answer.text
        assert show(user, MYSERVER)["status"] == "REBUILD"
    else:
        assert fault(answer) == (
            409,
            "conflictingRequest",
            f"Cannot 'rebuild' instance {MYSERVER} while it is in vm_state "
            "building",
        )
        assert show(user, MYSERVER)["status"] == "BUILD"


def test_rebuild_refuses_an_image_not_active_or_too_big(
    slow: Sandbox, user: Client
) -> None:
    queued = image_of(slow, status="queued")
    big = image_of(slow, min_disk=40)  # myserver: general1-1, 20 GB
    answer = act(user, MYSERVER, {"rebuild": {"imageRef": queued}})
    assert fault(answer) == (
        400,
        "badRequest",
        f"Image {queued} is not active.",
    )
    answer = act(user, MYSERVER, {"rebuild": {"imageRef": big}})
    assert fault(answer) == (
        400,
        "badRequest",
        "Flavor's disk is too small for requested image.",
    )
    assert show(user, MYSERVER)["status"] == "ACTIVE"
    assert show(user, MYSERVER)["image"]["id"] == BASE_IMAGE


def test_rebuild_of_a_volume_backed_server_is_400(
    slow: Sandbox, user: Client
) -> None:
    added = admin(
        slow,
        "POST",
        "/servers",
        {"name": "vol", "volume_backed": True, "flavor": "compute1-4"},
    )
    server_id = added.json()["server"]["id"]
    answer = act(user, server_id, {"rebuild": {"imageRef": BASE_IMAGE}})
    assert fault(answer)[:2] == (400, "badRequest")
    answer = act(user, server_id, {"createImage": {"name": "x"}})
    assert fault(answer)[:2] == (400, "badRequest")


# ----- createImage -----------------------------------------------------------


def test_create_image_while_a_snapshot_is_in_progress_is_409(
    slow: Sandbox, user: Client
) -> None:
    assert (
        act(user, MYSERVER, {"createImage": {"name": "a"}}).status_code == 202
    )
    answer = act(user, MYSERVER, {"createImage": {"name": "b"}})
    assert fault(answer) == (
        409,
        "conflictingRequest",
        f"Cannot 'createImage' instance {MYSERVER} while it is in task_state "
        "image_snapshot",
    )
    finish(slow)
    assert (
        act(user, MYSERVER, {"createImage": {"name": "b"}}).status_code == 202
    )


def test_create_image_of_a_server_in_error_is_409(
    slow: Sandbox, user: Client
) -> None:
    slow.set_server_state(MYSERVER, "ERROR")
    answer = act(user, MYSERVER, {"createImage": {"name": "a"}})
    assert fault(answer)[:2] == (409, "conflictingRequest")


@pytest.mark.parametrize(
    ("headers", "in_body"),
    [
        ({}, False),
        ({NOVA_VERSION: "2.44"}, False),
        ({API_VERSION: "compute 2.44"}, False),
        ({NOVA_VERSION: "2.45"}, True),
        ({API_VERSION: "compute 2.45"}, True),
        ({API_VERSION: "compute 2.79"}, True),
        ({NOVA_VERSION: "latest"}, True),
    ],
)
def test_image_id_in_location_before_2_45_and_in_body_from_it(
    slow: Sandbox, user: Client, headers: dict[str, str], in_body: bool
) -> None:
    answer = act(user, MYSERVER, {"createImage": {"name": "pre"}}, **headers)
    assert answer.status_code == 202, answer.text
    if in_body:
        assert "Location" not in answer.headers
        image_id = answer.json()["image_id"]
    else:
        assert answer.content == b""
        location = answer.headers["Location"]
        assert location.startswith(f"{slow.url}/image/v2/images/")
        image_id = location.rsplit("/", 1)[1]
    shown = user.get(f"{user.image}/v2/images/{image_id}").json()
    assert shown["instance_uuid"] == MYSERVER
    if headers:
        assert answer.headers["OpenStack-API-Version"].startswith("compute 2.")


def test_a_bad_microversion_is_400(user: Client) -> None:
    answer = act(
        user,
        MYSERVER,
        {"createImage": {"name": "pre"}},
        **{NOVA_VERSION: "two"},
    )
    assert fault(answer)[:2] == (400, "badRequest")


@pytest.mark.parametrize(
    ("version", "details"), [("2.46", False), ("2.47", True)]
)
def test_server_flavor_details_from_2_47(
    user: Client, version: str, details: bool
) -> None:
    flavor = show(user, MYSERVER, **{NOVA_VERSION: version})["flavor"]
    if details:
        assert flavor == {
            "original_name": "1 GB General Purpose v1",
            "ram": 1024,
            "disk": 20,
            "vcpus": 1,
            "ephemeral": 0,
            "swap": 0,
            "extra_specs": {},
        }
    else:
        assert flavor == {"id": "general1-1", "links": []}


# ----- delete, other actions, other projects, the log ------------------------


def test_another_projects_server_is_404_for_every_action(
    slow: Sandbox, user: Client
) -> None:
    assert fault(user.delete(f"{user.compute}/servers/{ALT_APP}"))[0] == 404
    for body in (
        {"rebuild": {"imageRef": BASE_IMAGE}},
        {"createImage": {"name": "x"}},
    ):
        assert fault(act(user, ALT_APP, body))[0] == 404
    assert slow.server_record(ALT_APP)["status"] == "ACTIVE"


def test_an_unknown_action_is_400(user: Client) -> None:
    answer = act(user, MYSERVER, {"os-stop": None})
    assert fault(answer)[:2] == (400, "badRequest")
    answer = act(user, MYSERVER, {"reboot": {"type": "SOFT"}})
    assert fault(answer) == (
        400,
        "badRequest",
        "There is no such action: reboot",
    )


def test_every_action_is_in_the_request_log(
    slow: Sandbox, user: Client
) -> None:
    slow.clear_requests()
    server_id = create(user).json()["server"]["id"]
    finish(slow)
    act(user, server_id, {"createImage": {"name": "s"}})
    user.delete(f"{user.compute}/servers/{server_id}")
    base = f"/compute/v2/{DEMO_PROJECT}/servers"
    assert [(r["method"], r["path"], r["status"]) for r in slow.requests] == [
        ("POST", base, 202),
        ("POST", f"{base}/{server_id}/action", 202),
        ("DELETE", f"{base}/{server_id}", 204),
    ]
    assert slow.requests[1]["body"] == {"createImage": {"name": "s"}}
