"""``openstack scheduled image restore`` and ``... restore-test``
in-process, against a mocked cloud with server lifecycles."""

from __future__ import annotations

import io
import json
import os
import signal

import pytest

from rax_scheduled_images_python_novaclient_ext import restore as decide
from rax_scheduled_images_python_novaclient_ext import servers
from rax_scheduled_images_python_novaclient_ext.config import NOW_ENV

from ..restore_cloud import (
    FOREIGN,
    NEW,
    OLD,
    OTHER,
    WEB,
    Cloud,
    glance,
    nova_server,
)

RESTORE = ("scheduled", "image", "restore")
TEST = ("scheduled", "image", "restore-test")
SAFETY = "pre-restore-web-20261104T153000Z"
TAG = {decide.TEST_TAG_KEY: decide.TEST_TAG_VALUE}


@pytest.fixture(autouse=True)
def setting(monkeypatch):
    monkeypatch.setenv(NOW_ENV, "2026-11-04T15:30:00Z")
    monkeypatch.setattr(servers, "FIRST_POLL", 0.001)
    monkeypatch.setattr(servers, "POLL_SECONDS", 0.001)


@pytest.fixture
def cloud(mock, openstack):
    return Cloud(mock)


# --- restore: the dry run ------------------------------------------------


def test_dry_run_prints_the_plan_and_changes_nothing(openstack, cloud):
    result = openstack(*RESTORE, "web")
    assert result.code == 0, result.err
    assert result.out.splitlines()[:3] == [
        "Dry run: nothing is changed. Add --yes to restore.",
        f"Server: web ({WEB})",
        f"Image: {NEW} Daily-web-1703",
    ]
    assert f"Safety image first: {SAFETY}" in result.out
    assert cloud.writes() == []


def test_dry_run_of_an_older_image_by_name(openstack, cloud):
    result = openstack(*RESTORE, WEB, "--image", "Daily-web-1701")
    assert result.code == 0, result.err
    assert f"Image: {OLD} Daily-web-1701" in result.out
    assert cloud.writes() == []


# --- restore: each refusal, exit 2, nothing changed even with --yes ------


def refused(openstack, cloud, *argv):
    result = openstack(*RESTORE, *argv, "--yes")
    assert result.code == 2, result
    assert len(result.error_lines) == 1, result.err
    assert cloud.writes() == []
    return result.error_lines[0]


def test_refused_image_not_active(openstack, cloud):
    cloud.images["s"] = glance("s", 5, status="saving", name="s")
    line = refused(openstack, cloud, "web", "--image", "s")
    assert line == "Image s is saving, not active: only an active image " \
        "can be restored."  # fmt: skip


def test_refused_image_of_another_server(openstack, cloud):
    line = refused(openstack, cloud, "web", "--image", FOREIGN)
    assert f"is an image of server {OTHER}, not of web" in line


def test_refused_min_disk_above_the_flavor(openstack, cloud):
    cloud.images[NEW]["min_disk"] = 80
    line = refused(openstack, cloud, "web")
    assert line == f"Image {NEW} needs a disk of 80 GB and flavor m.20 " \
        "(f20) has 20 GB."  # fmt: skip


def test_refused_volume_backed_server(openstack, cloud):
    cloud.servers[WEB]["image"] = ""
    assert "boots from a volume" in refused(openstack, cloud, "web")


def test_refused_server_in_build(openstack, cloud):
    cloud.servers[WEB]["status"] = "BUILD"
    assert "is BUILD: it can be rebuilt only" in refused(
        openstack, cloud, "web"
    )


def test_refused_task_in_progress(openstack, cloud):
    cloud.servers[WEB]["OS-EXT-STS:task_state"] = "image_uploading"
    assert "task in progress (image_uploading)" in refused(
        openstack, cloud, "web"
    )


def test_refused_as_new_with_a_name_taken(openstack, cloud):
    cloud.servers[OTHER] = nova_server(OTHER, "db")
    line = refused(openstack, cloud, "web", "--as-new", "db")
    assert line.startswith(f"A server named db already exists ({OTHER})")


def test_refused_flavor_without_as_new(openstack, cloud):
    line = refused(openstack, cloud, "web", "--flavor", "f40")
    assert line == "--flavor and --network go with --as-new."


# --- restore: --yes --------------------------------------------------------


def test_in_place_takes_the_safety_image_first_and_says_how_to_roll_back(
    openstack, cloud
):
    result = openstack(*RESTORE, "web", "--yes", "--wait")
    assert result.code == 0, result.err
    assert cloud.actions() == ["createImage", "rebuild"]
    # Nothing but this server's two actions: no other server touched.
    assert cloud.writes() == [("POST", f"/v2/p1/servers/{WEB}/action")] * 2
    (safety,) = [i for i in cloud.images if i.startswith("5afe")]
    assert cloud.images[safety]["name"] == SAFETY
    assert cloud.servers[WEB]["image"]["id"] == NEW
    assert result.out.splitlines()[-2:] == [
        f"Safety image: {safety} ({SAFETY})",
        "To roll back to it: openstack scheduled image restore "
        f"{WEB} --image {safety} --yes",
    ]
    # Not a terminal: no progress line.
    assert "\r" not in result.err


def test_no_safety_image_says_so(openstack, cloud):
    result = openstack(*RESTORE, "web", "--yes", "--no-safety-image")
    assert result.code == 0, result.err
    assert cloud.actions() == ["rebuild"]
    assert "No safety image (--no-safety-image)" in result.out
    assert result.out.splitlines()[-1] == (
        "No safety image was taken (--no-safety-image)."
    )


def test_a_failed_safety_image_stops_the_restore(openstack, cloud):
    cloud.snapshot = "killed"
    result = openstack(*RESTORE, "web", "--yes")
    assert result.code == 1
    assert cloud.actions() == ["createImage"]
    assert result.error_lines[-1].endswith(
        "the image is killed. Nothing was rebuilt."
    )


def test_wait_timeout_exit_1_and_the_rebuild_goes_on(openstack, cloud):
    cloud.boot = "BUILD"
    result = openstack(*RESTORE, "web", "--yes", "--wait", "--timeout", "0.2")
    assert result.code == 1
    assert result.error_lines == [
        f"Timed out after 0 s: the rebuild of web ({WEB}) goes on in the "
        f"cloud; watch it with: openstack server show {WEB}"
    ]


def test_wait_error_with_the_fault(openstack, cloud):
    cloud.boot = "ERROR"
    result = openstack(*RESTORE, "web", "--yes", "--wait")
    assert result.code == 1
    assert result.error_lines == [
        f"The rebuild of web ({WEB}) failed: Rebuild failed."
    ]


def test_ctrl_c_during_the_wait_exit_130(openstack, cloud):
    cloud.boot = "BUILD"

    def interrupt(request):
        if "rebuild" in cloud.actions():
            raise KeyboardInterrupt

    cloud.on_read = interrupt
    result = openstack(*RESTORE, "web", "--yes", "--wait")
    assert result.code == 130
    assert result.error_lines == [
        f"Interrupted: stopped waiting only. The rebuild of web ({WEB}) was "
        "started and goes on in the cloud; watch it with: openstack server "
        f"show {WEB}"
    ]


def test_as_new(openstack, cloud):
    result = openstack(
        *RESTORE, "web", "--as-new", "web2", "--flavor", "m.40", "--yes"
    )
    assert result.code == 0, result.err
    assert cloud.writes() == [("POST", "/v2/p1/servers")]
    assert cloud.mock.last_request.json()["server"] == {
        "name": "web2",
        "imageRef": NEW,
        "flavorRef": "f40",
    }
    assert result.out.splitlines()[-1] == (
        "The new server web2 (eeeeeeee-0000-4000-8000-000000000001) from "
        f"image {NEW} has started."
    )


# --- restore-test --------------------------------------------------------


def test_restore_test_ok(openstack, cloud):
    result = openstack(*TEST, "web")
    assert result.code == 0, result.err
    assert result.out.startswith("RESTORE TEST OK - 1 server: 1 passed | ")
    assert result.error_lines == [
        "No throwaway server of an earlier restore test was left."
    ]
    assert [m for m, _ in cloud.writes()] == ["POST", "DELETE"]


def test_restore_test_json_rows(openstack, cloud):
    result = openstack(*TEST, "web", "-f", "json")
    assert result.code == 0, result.err
    (row,) = json.loads(result.out)
    assert set(row) == {
        "server_id",
        "server_name",
        "image_id",
        "image_created",
        "boot_seconds",
        "port_open",
        "result",
        "reason",
    }
    assert (row["server_id"], row["image_id"], row["result"]) == (
        WEB,
        NEW,
        "passed",
    )
    assert row["image_created"] == "2026-11-03T03:00:00Z"
    assert row["port_open"] is None and row["reason"] is None


def test_restore_test_cleans_leftovers_by_the_tag_only(openstack, cloud):
    cloud.servers["t1"] = nova_server("t1", "restore-test-old", metadata=TAG)
    cloud.servers[OTHER] = nova_server(OTHER, "restore-test-lookalike")
    result = openstack(*TEST, "web")
    assert result.code == 0, result.err
    assert result.error_lines == [
        "Deleted 1 throwaway server an earlier restore test left behind: "
        "restore-test-old"
    ]
    deleted = [path for m, path in cloud.writes() if m == "DELETE"]
    assert deleted[0] == "/v2/p1/servers/t1"
    assert f"/v2/p1/servers/{OTHER}" not in deleted
    assert f"/v2/p1/servers/{WEB}" not in deleted


@pytest.mark.parametrize(
    ("setup", "code", "word"),
    [
        ("no-image", 1, "WARNING"),
        ("error", 2, "CRITICAL"),
        ("quota", 3, "UNKNOWN"),
    ],
)
def test_restore_test_exit_codes(openstack, cloud, setup, code, word):
    if setup == "no-image":
        cloud.images.clear()
    elif setup == "error":
        cloud.boot = "ERROR"
    else:
        cloud.create_status = 413
        cloud.create_error = {
            "overLimit": {"code": 413, "message": "Quota exceeded for cores"}
        }
    result = openstack(*TEST, "web")
    assert result.code == code, result
    assert result.out.startswith(f"RESTORE TEST {word} - ")


def test_restore_test_needs_servers_or_all(openstack, cloud):
    result = openstack(*TEST)
    assert result.code == 2
    assert result.error_lines == ["Name the servers to test, or --all."]
    assert cloud.writes() == []


def test_restore_test_ctrl_c_deletes_the_booting_server(openstack, cloud):
    cloud.boot = "BUILD"

    def interrupt(request):
        if "eeeeeeee" in request.path and request.method == "GET":
            cloud.on_read = None
            os.kill(os.getpid(), signal.SIGINT)

    cloud.on_read = interrupt
    result = openstack(*TEST, "web", "--timeout", "600")
    assert result.code == 130, result
    assert [m for m, _ in cloud.writes()] == ["POST", "DELETE"]
    assert result.error_lines[-2:] == [
        "Interrupted: 1 of 1 done; not started: none",
        "Every throwaway server started was deleted.",
    ]


def test_a_rebuild_refused_after_the_safety_image(openstack, cloud):
    real = cloud._action

    def action(request, context):
        if "rebuild" in request.json():
            context.status_code = 409
            return {"conflictingRequest": {"code": 409, "message": "busy"}}
        return real(request, context)

    cloud._action = action
    result = openstack(*RESTORE, "web", "--yes")
    assert result.code == 1
    assert result.error_lines == [
        "The cloud refused the restore: busy (HTTP 409). Nothing was rebuilt."
    ]
    assert result.out.splitlines()[-2].startswith("Safety image: ")


def test_restore_test_flavor_by_name(openstack, cloud):
    result = openstack(*TEST, "web", "--flavor", "m.40")
    assert result.code == 0, result.err
    posts = [r for r in cloud.mock.request_history if r.method == "POST"]
    assert posts[-1].json()["server"]["flavorRef"] == "f40"


def test_a_stopped_server_stays_stopped_after_the_rebuild(openstack, cloud):
    cloud.servers[WEB]["status"] = "SHUTOFF"
    cloud.boot = "SHUTOFF"  # Nova leaves a stopped server stopped
    result = openstack(*RESTORE, "web", "--yes", "--wait")
    assert result.code == 0, result.err
    assert f"The rebuild of web ({WEB}) is SHUTOFF." in result.out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_wait_progress_on_a_terminal_only(openstack, cloud):
    cloud.settle = 3
    result = openstack(
        *RESTORE, "web", "--yes", "--wait", "--no-safety-image",
        stderr=_Terminal(),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "\rREBUILD rebuilding, 0 s" in result.err
    assert result.err.endswith("\n")


@pytest.mark.parametrize("text", ["0", "inf", "soon"])
def test_a_timeout_not_above_zero_is_a_usage_error(openstack, cloud, text):
    result = openstack(*RESTORE, "web", "--timeout", text)
    assert result.code == 2
    assert f"'{text}' is not a number of seconds above 0." in result.err
    assert not [r for r in cloud.mock.request_history if "/servers" in r.url]
