"""The installed ``nova`` command, as a subprocess, against the sandbox.

Every command and case of the guide, over real HTTP on loopback, with
both API aliases, Keystone v3 and v2.0, and Rackspace's API-key login.
"""

from __future__ import annotations

import importlib.util

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox.model import (
    MYSERVER_ID,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.server import Sandbox

from .conftest import clean_env, run_command, schedule_of

pytestmark = pytest.mark.functional

ALIASES = ("os-si-image-schedule", "rax-si-image-schedule")


@pytest.fixture
def nova(cloud, cache_dir):
    def run(*argv, keystone="v3", user="demo"):
        env = clean_env(
            **cloud.env(user=user, keystone=keystone),
            NOVACLIENT_UUID_CACHE_DIR=cache_dir,
        )
        return run_command(["nova", *argv], env)

    return run


def test_the_guides_walk_through(nova, cloud):
    enabled = nova(
        "scheduled-images-enable",
        "--day-of-week",
        "saturday",
        MYSERVER_ID,
        "4",
    )
    assert (enabled.code, enabled.out, enabled.error_lines) == (0, "", [])
    assert schedule_of(cloud, MYSERVER_ID) == (4, "SATURDAY")

    shown = nova("scheduled-images-show", MYSERVER_ID)
    assert shown.code == 0, shown
    assert shown.out == "Schedule type: Weekly on: SATURDAY\nRetention: 4\n"

    # Change the day, then the retention (the day must be given again).
    assert (
        nova(
            "scheduled-images-enable",
            "--day-of-week",
            "sunday",
            "myserver",
            "4",
        ).code
        == 0
    )
    assert schedule_of(cloud, MYSERVER_ID) == (4, "SUNDAY")
    assert (
        nova(
            "scheduled-images-enable",
            "--day-of-week",
            "saturday",
            "myserver",
            "8",
        ).code
        == 0
    )
    shown = nova("scheduled-images-show", "myserver")
    assert shown.out == "Schedule type: Weekly on: SATURDAY\nRetention: 8\n"

    # Without a day it becomes daily, as the guide warns.
    assert nova("scheduled-images-enable", "myserver", "31").code == 0
    shown = nova("scheduled-images-show", "myserver")
    assert shown.out == "Schedule type: Daily\nRetention: 31\n"

    disabled = nova("scheduled-images-disable", "myserver")
    assert (disabled.code, disabled.out, disabled.error_lines) == (0, "", [])
    assert schedule_of(cloud, MYSERVER_ID) is None

    shown = nova("scheduled-images-show", MYSERVER_ID)
    assert shown.code == 1
    assert shown.out == ""
    assert shown.error_lines == [
        "ERROR (NotFound): Scheduled images not enabled for server "
        f"{MYSERVER_ID} (HTTP 404)"
    ]


def test_a_uuid_costs_no_server_lookup_on_the_default_alias(cache_dir):
    # Only on the default alias: on the other, a fresh nova process
    # probes the default once before it learns the alias. The schedule
    # is read first, to warn when the retention goes down.
    with Sandbox() as cloud:
        env = clean_env(**cloud.env(), NOVACLIENT_UUID_CACHE_DIR=cache_dir)
        cloud.clear_requests()
        done = run_command(
            ["nova", "scheduled-images-enable", MYSERVER_ID, "3"], env
        )
        assert done.code == 0, done
        compute = [
            (r["method"], r["path"])
            for r in cloud.requests
            if "/compute/" in r["path"]
        ]
    # The version document nova reads at start-up, the current schedule
    # (none: no image request), then the call itself.
    path = f"/compute/v2/100001/servers/{MYSERVER_ID}/{ALIASES[0]}"
    assert compute == [
        ("GET", "/compute/v2/100001"),
        ("GET", path),
        ("POST", path),
    ]


def test_ambiguous_name(nova, cloud):
    result = nova("scheduled-images-enable", "web", "3")
    assert result.code == 1
    assert result.error_lines == [
        "ERROR (CommandError): Multiple server matches found for 'web', "
        "use an ID to be more specific."
    ]
    assert not [
        r
        for r in cloud.requests
        if r["method"] == "POST" and "/compute/" in r["path"]
    ]


def test_unknown_name_and_uuid(nova):
    for server in ("nosuch", "99999999-9999-4999-8999-999999999999"):
        result = nova("scheduled-images-show", server)
        assert result.code == 1
        assert result.error_lines == [
            f"ERROR (CommandError): No server with a name or ID of "
            f"'{server}' exists."
        ]


def test_another_projects_server_is_not_there(nova, cloud):
    # alt's servers are invisible to demo: same answer as unknown.
    alt_server = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
    before = schedule_of(cloud, alt_server)
    result = nova("scheduled-images-enable", alt_server, "3")
    assert result.code == 1
    assert "No server with a name or ID" in result.error_lines[0]
    assert schedule_of(cloud, alt_server) == before


def test_retention_over_the_clouds_limit_is_its_error(nova, cloud):
    result = nova("scheduled-images-enable", "myserver", "70000")
    assert result.code == 1
    (line,) = result.error_lines
    # Nova adds "(Request-ID: req-...)" to its errors.
    assert line.startswith(
        "ERROR (BadRequest): The retention value 70000 is not allowed. "
        "It cannot exceed 65535 (HTTP 400)"
    )
    assert schedule_of(cloud, MYSERVER_ID) is None


def test_bad_input_sends_nothing(nova, cloud):
    cloud.clear_requests()
    result = nova(
        "scheduled-images-enable", "--day-of-week", "funday", "myserver", "3"
    )
    assert result.code == 1
    assert len(result.error_lines) == 1
    assert "Invalid day of week 'funday'" in result.error_lines[0]
    assert not [
        r
        for r in cloud.requests
        if "/compute/" in r["path"] and r["method"] != "GET"
    ]


def test_keystone_v2_password_login(nova, cloud):
    assert (
        nova("scheduled-images-enable", "myserver", "5", keystone="v2.0").code
        == 0
    )
    shown = nova("scheduled-images-show", "myserver", keystone="v2.0")
    assert shown.out == "Schedule type: Daily\nRetention: 5\n"


@pytest.mark.skipif(
    importlib.util.find_spec("rackspaceauth") is None,
    reason="rackspaceauth is not installed",
)
def test_rackspace_api_key_login(nova, cloud):
    result = nova(
        "scheduled-images-enable",
        "--day-of-week",
        "mon",
        "myserver",
        "2",
        keystone="rax",
    )
    assert result.code == 0, result
    assert schedule_of(cloud, MYSERVER_ID) == (2, "MONDAY")


def test_the_other_users_project(nova, cloud):
    result = nova("scheduled-images-show", "myserver", user="alt")
    assert result.code == 1
    assert (
        "Scheduled images not enabled for server "
        "5d1e0f2a-7b3c-4d8e-9f0a-1b2c3d4e5f60" in result.error_lines[0]
    )
