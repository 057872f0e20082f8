"""The installed ``openstack`` command, as a subprocess, against the sandbox.

``-f json`` output is parsed and checked; schedules are checked in the
sandbox's state.
"""

from __future__ import annotations

import json

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox.model import (
    MYSERVER_ID,
    Schedule,
)

from .conftest import (
    SCHEDULE_SET,
    bin_dir,
    clean_env,
    run_command,
    schedule_of,
)

pytestmark = [
    pytest.mark.functional,
    pytest.mark.skipif(
        not (bin_dir() / "openstack").exists(),
        reason="python-openstackclient is not installed",
    ),
]

DB_ID = "3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69"


@pytest.fixture
def openstack(cloud):
    def run(*argv, keystone="v3"):
        env = clean_env(**cloud.env(keystone=keystone))
        return run_command(["openstack", *argv], env)

    return run


def test_show_as_json(openstack):
    shown = openstack(
        "server", "image", "schedule", "show", "db", "-f", "json"
    )
    assert shown.code == 0, shown
    assert json.loads(shown.out) == {
        "server_id": DB_ID,
        "server_name": "db",
        "type": "daily",
        "day_of_week": None,
        "retention": 3,
    }


def test_set_changes_only_what_is_given(openstack, cloud):
    first = openstack(
        *SCHEDULE_SET,
        "--retention",
        "4",
        "--day-of-week",
        "saturday",
        "myserver",
    )
    assert first.code == 0, first
    assert schedule_of(cloud, MYSERVER_ID) == (4, "SATURDAY")

    # --retention alone keeps the weekly day (nova's enable would not).
    assert (
        openstack(
            *SCHEDULE_SET,
            "--retention",
            "8",
            MYSERVER_ID,
        ).code
        == 0
    )
    assert schedule_of(cloud, MYSERVER_ID) == (8, "SATURDAY")

    assert (
        openstack(
            *SCHEDULE_SET,
            "--day-of-week",
            "mon",
            "myserver",
        ).code
        == 0
    )
    assert schedule_of(cloud, MYSERVER_ID) == (8, "MONDAY")

    assert (
        openstack(
            "server", "image", "schedule", "set", "--daily", "myserver"
        ).code
        == 0
    )
    assert schedule_of(cloud, MYSERVER_ID) == (8, None)


def test_set_without_a_schedule_needs_a_retention(openstack, cloud):
    result = openstack(
        *SCHEDULE_SET,
        "--day-of-week",
        "mon",
        "myserver",
    )
    assert result.code == 1
    assert "retention is required" in result.err
    assert schedule_of(cloud, MYSERVER_ID) is None


def test_set_on_several_servers_reports_each_and_fails_if_any(
    openstack, cloud
):
    result = openstack(
        *SCHEDULE_SET,
        "--retention",
        "6",
        "db",
        "nosuch",
        "myserver",
    )
    assert result.code == 1
    assert schedule_of(cloud, DB_ID) == (6, None)
    assert schedule_of(cloud, MYSERVER_ID) == (6, None)
    assert "nosuch" in result.out + result.err


def test_unset_and_list(openstack, cloud):
    assert openstack("server", "image", "schedule", "unset", "db").code == 0
    assert schedule_of(cloud, DB_ID) is None
    listed = openstack("server", "image", "schedule", "list", "-f", "json")
    assert listed.code == 0, listed
    assert json.loads(listed.out) == []

    assert (
        openstack(
            *SCHEDULE_SET,
            "--retention",
            "2",
            "myserver",
        ).code
        == 0
    )
    listed = openstack("server", "image", "schedule", "list", "-f", "json")
    assert json.loads(listed.out) == [
        {
            "ID": MYSERVER_ID,
            "Name": "myserver",
            "Type": "Daily",
            "Day": None,
            "Retention": 2,
        }
    ]


def test_scheduled_image_keep_and_release(openstack, cloud):
    listed = openstack(
        "scheduled", "image", "list", "--server", "db", "-f", "json"
    )
    assert listed.code == 0, listed
    rows = json.loads(listed.out)
    counted = [row for row in rows if row["Counted"] == "yes"]
    assert len(counted) == 3
    doomed = [row["ID"] for row in rows if row["Deleted at next run"] == "yes"]
    assert len(doomed) == 1

    kept = openstack("scheduled", "image", "keep", doomed[0])
    assert kept.code == 0, kept
    with cloud.lock:
        assert "org.openstack__1__created_by" not in (
            cloud.state.images[doomed[0]].properties
        )
    cloud.tick(days=3)
    with cloud.lock:
        assert doomed[0] in cloud.state.images

    released = openstack("scheduled", "image", "release", doomed[0])
    assert released.code == 0, released
    assert doomed[0] in released.out
    with cloud.lock:
        assert (
            cloud.state.images[doomed[0]].properties[
                "org.openstack__1__created_by"
            ]
            == "scheduled_images_service"
        )


def test_bad_input_changes_nothing(openstack, cloud):
    result = openstack(
        "server", "image", "schedule", "set", "--retention", "0", "db"
    )
    assert result.code != 0
    assert "Traceback" not in result.err
    assert schedule_of(cloud, DB_ID) == (3, None)


def test_keystone_v2(openstack, cloud):
    result = openstack(
        "server",
        "image",
        "schedule",
        "show",
        "db",
        "-f",
        "value",
        "-c",
        "retention",
        keystone="v2.0",
    )
    assert (result.code, result.out) == (0, "3\n"), result


def test_missing_values_are_null_in_json_blank_in_value_and_sort_last(
    openstack, cloud
):
    with cloud.lock:
        cloud.state.servers[MYSERVER_ID].schedule = Schedule(8, "SATURDAY")
    listed = openstack(
        "server", "image", "schedule", "list", "--all-servers", "-f", "json"
    )
    assert listed.code == 0, listed
    rows = {row["Name"]: row for row in json.loads(listed.out)}
    assert rows["db"] == {
        "ID": DB_ID, "Name": "db", "Type": "Daily", "Day": None,
        "Retention": 3,
    }  # fmt: skip
    assert rows["myserver"]["Day"] == "SATURDAY"
    assert rows["web"] == {
        "ID": rows["web"]["ID"], "Name": "web", "Type": None, "Day": None,
        "Retention": None,
    }  # fmt: skip
    # One type per column: text or null, a number or null.
    assert {type(r["Retention"]) for r in rows.values()} == {int, type(None)}
    assert {type(r["Day"]) for r in rows.values()} == {str, type(None)}

    by_retention = openstack(
        "server", "image", "schedule", "list", "--all-servers",
        "--sort-column", "Retention", "-c", "Name", "-c", "Retention",
        "-f", "value",
    )  # fmt: skip
    assert (by_retention.code, by_retention.err) == (0, ""), by_retention
    lines = by_retention.out.splitlines()
    assert lines == ["db 3", "myserver 8", "web ", "web "]

    shown = openstack(
        "server", "image", "schedule", "show", "db", "-f", "value",
        "-c", "type", "-c", "day_of_week", "-c", "retention",
    )  # fmt: skip
    assert (shown.code, shown.out) == (0, "daily\n\n3\n"), shown
