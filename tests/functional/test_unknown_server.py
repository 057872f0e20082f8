"""A UUID that names no server, or another project's, with the installed
``nova`` and ``openstack`` against the sandbox, under both API aliases.

The sandbox answers GET and DELETE of such a server's schedule exactly
as for a server without a schedule (as the reference extension does),
so only a client that checks the server can tell the user the truth.
Every command must say novaclient's "No server with a name or ID of
'<id>' exists.", exit 1 and change nothing.
"""

from __future__ import annotations

import concurrent.futures

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox.model import (
    MYSERVER_ID,
    Image,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.server import Sandbox

from .conftest import bin_dir, clean_env, run_command

pytestmark = pytest.mark.functional

ALIASES = ("os-si-image-schedule", "rax-si-image-schedule")
UNKNOWN = "99999999-9999-4999-8999-999999999999"
ALT_APP = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"  # alt's, weekly schedule
DB_ID = "3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69"  # demo's, daily schedule
# A kept snapshot in demo's project whose server is the one under test.
STRAY_IMAGE = {
    UNKNOWN: "eeeeeeee-0000-4000-8000-000000000001",
    ALT_APP: "eeeeeeee-0000-4000-8000-000000000002",
}


@pytest.fixture(scope="module", params=ALIASES)
def cloud(request):
    with Sandbox(alias=request.param) as sandbox:
        with sandbox.lock:
            for server_id, image_id in STRAY_IMAGE.items():
                sandbox.state.add_image(
                    Image(
                        id=image_id,
                        name=f"Daily-gone-{server_id[:4]}",
                        owner="100001",
                        created_at="2025-01-01T03:17:00Z",
                        updated_at="2025-01-01T03:17:00Z",
                        properties={
                            "instance_uuid": server_id,
                            "image_type": "snapshot",
                        },
                    )
                )
        yield sandbox


def run(cloud, argv):
    env = clean_env(**cloud.env())
    return run_command(argv, env)


def everything(cloud):
    """Every schedule and every image's properties: what must not change."""
    with cloud.lock:
        return (
            {
                sid: None
                if s.schedule is None
                else (s.schedule.retention, s.schedule.day_of_week)
                for sid, s in cloud.state.servers.items()
            },
            {i.id: dict(i.properties) for i in cloud.state.images.values()},
        )


def commands(server):
    """(argv, the one line the user must see) for every command."""
    nova_line = (
        f"ERROR (CommandError): No server with a name or ID of '{server}' "
        "exists."
    )
    line = f"No server with a name or ID of '{server}' exists."
    image = STRAY_IMAGE[server]
    found = [
        (["nova", "scheduled-images-show", server], nova_line),
        (["nova", "scheduled-images-disable", server], nova_line),
        (["nova", "scheduled-images-enable", server, "3"], nova_line),
        (["nova", "scheduled-images-image-list", server], nova_line),
        (["nova", "scheduled-images-image-release", image], nova_line),
    ]
    if (bin_dir() / "openstack").exists():
        schedule = ["openstack", "server", "image", "schedule"]
        found += [
            ([*schedule, "show", server], line),
            (
                [*schedule, "set", "--retention", "3", server],
                f"{server}: {line}",
            ),
            (
                [*schedule, "set", "--day-of-week", "mon", server],
                f"{server}: {line}",
            ),
            ([*schedule, "unset", server], f"{server}: {line}"),
            (
                [
                    "openstack",
                    "scheduled",
                    "image",
                    "list",
                    "--server",
                    server,
                ],
                line,
            ),
            (["openstack", "scheduled", "image", "release", image], line),
        ]
    return found


@pytest.mark.parametrize("server", [UNKNOWN, ALT_APP])
def test_every_command_says_no_such_server_and_changes_nothing(cloud, server):
    before = everything(cloud)
    cloud.clear_requests()
    cases = commands(server)
    # Independent commands, nothing changes: run them side by side.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda case: run(cloud, case[0]), cases))
    for (_argv, line), result in zip(cases, results, strict=True):
        assert (result.code, result.out, result.error_lines) == (
            1,
            "",
            [line],
        ), result
    assert everything(cloud) == before
    changing = [
        (r["method"], r["path"], r["status"])
        for r in cloud.requests
        if r["method"] not in ("GET", "HEAD")
        and not r["path"].startswith("/identity")
    ]
    # Only the POSTs of enable and set reach the cloud, which refuses
    # them; no DELETE, no image PATCH.
    assert {(method, status) for method, _, status in changing} == {
        ("POST", 404)
    }
    assert all(server in path for _, path, _ in changing)


def compute_requests(cloud):
    return [
        (r["method"], r["path"].rsplit("/", 2)[-2:])
        for r in cloud.requests
        if "/compute/v2/" in r["path"]
    ]


def test_show_by_uuid_is_one_request_of_ours(cloud):
    cloud.clear_requests()
    pinned = clean_env(**cloud.env(), SCHEDULED_IMAGES_API_ALIAS=cloud.alias)
    shown = run_command(["nova", "scheduled-images-show", DB_ID], pinned)
    assert (shown.code, shown.out) == (
        0,
        "Schedule type: Daily\nRetention: 3\n",
    )
    # nova's version document, then the schedule: its 200 proves the
    # server, nothing is read to confirm it.
    assert compute_requests(cloud) == [
        ("GET", ["v2", "100001"]),
        ("GET", [DB_ID, cloud.alias]),
    ]


def test_disable_of_a_server_without_schedule_is_a_success(cloud):
    # The original extension answers DELETE with its 404 here, Rackspace's
    # with 202: both mean there is nothing to disable.
    before = everything(cloud)
    done = run(cloud, ["nova", "scheduled-images-disable", MYSERVER_ID])
    assert (done.code, done.out, done.error_lines) == (0, "", [])
    if (bin_dir() / "openstack").exists():
        unset = ["openstack", "server", "image", "schedule", "unset"]
        done = run(cloud, [*unset, MYSERVER_ID])
        assert (done.code, done.out, done.error_lines) == (
            0,
            f"{MYSERVER_ID}: scheduled images disabled\n",
            [],
        )
    assert everything(cloud) == before
