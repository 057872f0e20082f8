"""The check never says OK for what it did not see (1.2.0): both
installed commands against the sandbox, for an empty project, two
regions, a clock that disagrees, failures only, a kept image, servers
without a schedule and bad arguments.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from typing import Any

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox.model import (
    MYSERVER_ID,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.seed import (
    ALT_PROJECT_ID,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.server import Sandbox

from .conftest import clean_env, run_command

pytestmark = pytest.mark.functional

NOVA = ["nova", "scheduled-images-check"]
OPENSTACK = ["openstack", "server", "image", "schedule", "check"]
BOTH = pytest.mark.parametrize("check", [NOVA, OPENSTACK], ids=str)
DB = "3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69"
ALT_APP = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
MARKER = "org.openstack__1__created_by"


@pytest.fixture
def cloud() -> Iterator[Sandbox]:
    with Sandbox(second_region="RegionTwo") as sandbox:
        yield sandbox


def run(
    cloud: Sandbox,
    *argv: str,
    user: str = "demo",
    region: bool = True,
    **extra: str,
) -> Any:
    env = clean_env(**{**cloud.env(user), **cloud.now_env(), **extra})
    if not region:
        del env["OS_REGION_NAME"]
    return run_command(list(argv), env)


def images_of(cloud: Sandbox, server_id: str) -> list[Any]:
    with cloud.lock:
        return sorted(
            (
                image
                for image in cloud.state.images.values()
                if image.properties.get("instance_uuid") == server_id
            ),
            key=lambda image: image.created_at,
        )


@BOTH
def test_a_project_without_schedules_is_unknown(
    cloud: Sandbox, check: list[str]
) -> None:
    # The alt project's one schedule gone: a monitor pointed at it sees
    # nothing to check.
    done = run(cloud, "nova", "scheduled-images-disable", ALT_APP, user="alt")
    assert done.code == 0, done
    result = run(cloud, *check, user="alt")
    assert result.code == 3, result
    assert result.out.startswith(
        "SCHEDULED IMAGES UNKNOWN - no scheduled servers found in project "
        f"{ALT_PROJECT_ID}, region RegionOne; 2 servers without a schedule | "
    )
    allowed = run(cloud, *check, "--allow-empty", user="alt")
    assert allowed.code == 0, allowed
    assert allowed.out.startswith(
        "SCHEDULED IMAGES OK - 0 scheduled servers: 0 ok; 0 B in their "
        "images; 2 servers without a schedule | "
    )


@BOTH
def test_compute_and_image_in_two_regions_is_unknown(
    cloud: Sandbox, check: list[str]
) -> None:
    cloud.clear_requests()
    result = run(cloud, *check, region=False)
    assert (result.code, result.out) == (
        3,
        "SCHEDULED IMAGES UNKNOWN - The compute endpoint is in region "
        "RegionTwo and the image endpoint in region RegionOne: every "
        "server would look as if it had no images. Choose one region "
        "(--os-region-name or OS_REGION_NAME) and run again.\n",
    )
    assert not [r for r in cloud.requests if r["path"].startswith("/image")]


@pytest.mark.parametrize(
    "argv",
    [
        ["nova", "scheduled-images-list", "--long"],
        ["openstack", "server", "image", "schedule", "list", "--long"],
        ["openstack", "scheduled", "image", "list"],
    ],
    ids=str,
)
def test_lists_that_join_two_regions_are_refused(
    cloud: Sandbox, argv: list[str]
) -> None:
    cloud.clear_requests()
    result = run(cloud, *argv, region=False)
    assert result.code == 1, result
    assert result.error_lines[-1].endswith(
        "every server would look as if it had no images. Choose one region "
        "(--os-region-name or OS_REGION_NAME) and run again."
    )
    assert not [r for r in cloud.requests if r["path"].startswith("/image")]


def test_a_stale_scheduled_images_now_is_clock_skew(cloud: Sandbox) -> None:
    stale = "2024-12-28T00:00:00Z"  # days before the sandbox's clock
    for check in (NOVA, OPENSTACK):
        result = run(
            cloud, *check, "--server", "db", SCHEDULED_IMAGES_NOW=stale
        )
        assert result.code == 3, result
        lines = result.out.splitlines()
        assert lines[0].startswith(
            "SCHEDULED IMAGES UNKNOWN - 1 scheduled server: 0 ok, "
            "1 clock-skew;"
        )
        assert lines[1].startswith(f"clock-skew: db ({DB}): image Daily-db-")
        assert lines[1].endswith(
            " after now (2024-12-28T00:00:00Z); SCHEDULED_IMAGES_NOW is set "
            "to 2024-12-28T00:00:00Z"
        )
    listed = run(
        cloud, "openstack", "server", "image", "schedule", "list", "--long",
        "-f", "json", SCHEDULED_IMAGES_NOW=stale,
    )  # fmt: skip
    assert listed.code == 0, listed
    states = {
        row["server_name"]: row["state"] for row in json.loads(listed.out)
    }
    assert states["db"] == "clock-skew"


@BOTH
def test_failures_only_for_days_is_missed(
    cloud: Sandbox, check: list[str]
) -> None:
    done = run(cloud, "nova", "scheduled-images-enable", MYSERVER_ID, "3")
    assert done.code == 0, done
    outcome = {"server_id": MYSERVER_ID, "outcome": "fail"}
    import requests

    answer = requests.post(
        f"{cloud.url}/sandbox/outcome", json=outcome, timeout=10
    )
    assert answer.status_code == 200, answer.text
    cloud.tick(days=4)
    first = min(image.created_at for image in images_of(cloud, MYSERVER_ID))
    shown = datetime.datetime.fromisoformat(first.replace("Z", "+00:00"))
    result = run(cloud, *check, "--server", "myserver")
    assert result.code == 2, result
    assert result.out.splitlines()[1] == (
        f"missed: myserver ({MYSERVER_ID}): no ACTIVE image; 4 failed since "
        f"{shown:%Y-%m-%d %H:%M} UTC (daily critical after 52h)"
    )


@BOTH
def test_keeping_the_newest_image_keeps_the_server_ok(
    cloud: Sandbox, check: list[str]
) -> None:
    newest = images_of(cloud, DB)[-1]
    kept = run(cloud, "openstack", "scheduled", "image", "keep", newest.id)
    assert kept.code == 0, kept
    with cloud.lock:
        properties = dict(cloud.state.images[newest.id].properties)
    assert MARKER not in properties
    assert properties["scheduled_images_kept"] == "scheduled_images_service"
    result = run(cloud, *check, "--server", "db")
    assert result.code == 0, result
    assert result.out.startswith("SCHEDULED IMAGES OK - 1 scheduled server")
    listed = run(
        cloud, "openstack", "server", "image", "schedule", "list", "--long",
        "-f", "json",
    )  # fmt: skip
    row = next(r for r in json.loads(listed.out) if r["server_name"] == "db")
    assert row["last_image_id"] == newest.id
    assert row["reason"].startswith(f"newest image {newest.name} (kept), ")
    released = run(
        cloud, "openstack", "scheduled", "image", "release", newest.id
    )
    assert released.code == 0, released
    with cloud.lock:
        properties = dict(cloud.state.images[newest.id].properties)
    assert properties[MARKER] == "scheduled_images_service"
    assert "scheduled_images_kept" not in properties


@BOTH
def test_servers_without_a_schedule_are_counted_and_can_count(
    cloud: Sandbox, check: list[str]
) -> None:
    result = run(cloud, *check)
    assert result.code == 0, result
    assert "; 3 servers without a schedule | " in result.out
    assert result.out.rstrip().endswith("'unscheduled'=3;;;")
    strict = run(
        cloud, *check, "--unscheduled", "critical", "--ignore-server", "web"
    )
    assert strict.code == 2, strict
    assert strict.out.splitlines()[1:] == [
        f"unscheduled: myserver ({MYSERVER_ID}): no image schedule"
    ]


@BOTH
@pytest.mark.parametrize(
    "argv",
    [["--server", ""], ["--bogus"], ["--daily-warning"], ["--allow-empty=x"]],
    ids=str,
)
def test_bad_arguments_are_unknown_exit_3(
    cloud: Sandbox, check: list[str], argv: list[str]
) -> None:
    result = run(cloud, *check, *argv)
    assert result.code == 3, result
    assert result.out.startswith("SCHEDULED IMAGES UNKNOWN - ")
    assert len(result.out.splitlines()) == 1


def test_list_long_value_prints_no_none(cloud: Sandbox) -> None:
    result = run(
        cloud, "openstack", "server", "image", "schedule", "list", "--long",
        "--all-servers", "-f", "value",
    )  # fmt: skip
    assert result.code == 0, result
    assert "None" not in result.out
    assert any(" unscheduled " in line for line in result.out.splitlines())
