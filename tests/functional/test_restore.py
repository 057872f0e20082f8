"""``openstack scheduled image restore`` and ``... restore-test``, the
installed command against the sandbox's real server lifecycle."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
import requests

from rax_scheduled_images_python_novaclient_ext.sandbox.model import (
    MYSERVER_ID,
    format_time,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.server import Sandbox

from .conftest import bin_dir, clean_env, run_command

pytestmark = pytest.mark.functional

RESTORE = ("openstack", "scheduled", "image", "restore")
TEST = ("openstack", "scheduled", "image", "restore-test")


def admin(cloud, method, path, body=None):
    answer = requests.request(
        method, f"{cloud.url}/sandbox/{path}", json=body, timeout=10
    )
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


@pytest.fixture
def cloud():
    """The seed, and two scheduled images of myserver: an older and the
    newest (which a restore picks)."""
    with Sandbox(action_delay=0.3) as sandbox:
        admin(sandbox, "POST", "images", {"server_id": MYSERVER_ID})
        sandbox.tick()
        admin(sandbox, "POST", "images", {"server_id": MYSERVER_ID})
        yield sandbox


def environ(cloud):
    env = clean_env(**cloud.env())
    env["SCHEDULED_IMAGES_NOW"] = format_time(cloud.state.clock)
    return env


def run(cloud, *argv):
    return run_command(list(argv), environ(cloud))


def newest_image(cloud, server_id):
    with cloud.lock:
        mine = [
            image
            for image in cloud.state.images.values()
            if image.properties.get("instance_uuid") == server_id
            and image.name.startswith("Daily-")
        ]
    return max(mine, key=lambda image: (image.created_at, image.id)).id


def changes(cloud):
    return [
        (r["method"], r["path"])
        for r in cloud.requests
        if r["method"] != "GET" and not r["path"].startswith("/identity")
    ]


def test_dry_run_sends_reads_only(cloud):
    result = run(cloud, *RESTORE, "myserver")
    assert result.code == 0, result
    assert result.out.startswith("Dry run: nothing is changed.")
    assert changes(cloud) == []


def test_restore_in_place(cloud):
    before = cloud.server_record(MYSERVER_ID)
    chosen = newest_image(cloud, MYSERVER_ID)
    assert before["image_id"] != chosen
    result = run(cloud, *RESTORE, "myserver", "--yes", "--wait")
    assert result.code == 0, result
    after = cloud.server_record(MYSERVER_ID)
    assert after["image_id"] == chosen
    assert (after["id"], after["addresses"]) == (
        before["id"],
        before["addresses"],
    )
    assert after["status"] == "ACTIVE"
    with cloud.lock:
        (safety,) = [
            image
            for image in cloud.state.images.values()
            if image.name.startswith("pre-restore-myserver-")
        ]
        assert safety.status == "active"
        assert "org.openstack__1__created_by" not in safety.properties
    assert result.out.splitlines()[-1] == (
        f"To roll back to it: openstack scheduled image restore "
        f"{MYSERVER_ID} --image {safety.id} --yes"
    )
    actions = [
        r["body"] if isinstance(r.get("body"), dict) else None
        for r in cloud.requests
        if r["method"] == "POST" and r["path"].endswith("/action")
    ]
    assert len(actions) == 2  # createImage, then rebuild


def test_refused_with_exit_2_and_nothing_changed(cloud):
    admin(
        cloud,
        "PUT",
        f"servers/{MYSERVER_ID}/state",
        {"status": "ACTIVE", "task_state": "image_uploading"},
    )
    result = run(cloud, *RESTORE, "myserver", "--yes")
    assert result.code == 2, result
    assert result.error_lines == [
        f"Server myserver ({MYSERVER_ID}) has a task in progress "
        "(image_uploading): wait until it is done."
    ]
    assert changes(cloud) == []


def test_restore_test_with_port_json(cloud):
    result = run(
        cloud, *TEST, "myserver", "--port", str(cloud.server_port),
        "-f", "json",
    )  # fmt: skip
    assert result.code == 0, result
    (row,) = json.loads(result.out)
    assert (row["result"], row["port_open"]) == ("passed", True)
    assert row["image_id"] == newest_image(cloud, MYSERVER_ID)
    created = [p for m, p in changes(cloud) if m == "POST"]
    deleted = [p for m, p in changes(cloud) if m == "DELETE"]
    assert created == ["/compute/v2/100001/servers"]
    assert len(deleted) == 1


def test_restore_test_of_an_image_that_fails_to_boot(cloud):
    admin(
        cloud,
        "PUT",
        f"images/{newest_image(cloud, MYSERVER_ID)}/boot",
        {"outcome": "error"},
    )
    result = run(cloud, *TEST, "myserver")
    assert result.code == 2, result
    assert result.out.startswith("RESTORE TEST CRITICAL - 1 server: ")
    assert len([m for m, _ in changes(cloud) if m == "DELETE"]) == 1


def test_restore_test_of_an_image_whose_server_never_answers(cloud):
    admin(
        cloud,
        "PUT",
        f"images/{newest_image(cloud, MYSERVER_ID)}/boot",
        {"outcome": "no-answer"},
    )
    result = run(
        cloud, *TEST, "myserver", "--port", str(cloud.server_port),
        "--timeout", "3",
    )  # fmt: skip
    assert result.code == 2, result
    assert result.out.splitlines()[1].startswith("failed: myserver (")
    assert result.out.splitlines()[1].endswith(
        f"port {cloud.server_port} never answered"
    )
    assert len([m for m, _ in changes(cloud) if m == "DELETE"]) == 1


def test_restore_test_over_quota_is_unknown(cloud):
    admin(cloud, "PUT", "quota", {"project_id": "100001", "instances": 0})
    result = run(cloud, *TEST, "myserver")
    assert result.code == 3, result
    assert result.out.startswith("RESTORE TEST UNKNOWN - 1 server: ")
    assert "Quota exceeded for instances" in result.out
    assert [m for m, _ in changes(cloud)] == ["POST"]


def test_sigint_while_the_throwaway_server_boots_deletes_it(cloud):
    cloud.set_action_delay(30)
    argv = [str(bin_dir() / TEST[0]), *TEST[1:], "myserver"]
    process = subprocess.Popen(
        argv, env=environ(cloud), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    # Interrupt once the throwaway server has been created and read.
    for _ in range(1200):
        booting = throwaway_reads(cloud)
        if booting:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    assert "Every throwaway server started was deleted." in err
    (throwaway,) = set(throwaway_reads(cloud))
    assert cloud.server_record(throwaway)["name"].startswith(
        "restore-test-myserver-"
    )
    deleted = [p for m, p in changes(cloud) if m == "DELETE"]
    assert deleted == [f"/compute/v2/100001/servers/{throwaway}"]


def throwaway_reads(cloud):
    """The ids of the servers read that are not myserver: the throwaway
    server, once the command waits for it."""
    return [
        r["path"].rsplit("/", 1)[1]
        for r in cloud.requests
        if r["method"] == "GET"
        and r["path"].startswith("/compute/v2/100001/servers/")
        and not r["path"].endswith(("/detail", MYSERVER_ID))
    ]


def test_sigint_during_the_rebuild_wait_stops_waiting_only(cloud):
    cloud.set_action_delay(30)
    argv = [
        str(bin_dir() / RESTORE[0]), *RESTORE[1:], "myserver", "--yes",
        "--wait", "--no-safety-image",
    ]  # fmt: skip
    process = subprocess.Popen(
        argv, env=environ(cloud), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    for _ in range(1200):
        if any(m == "POST" for m, _ in changes(cloud)):
            break
        time.sleep(0.05)
    time.sleep(0.5)  # into the wait
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    assert err.strip().splitlines()[-1] == (
        f"Interrupted: stopped waiting only. The rebuild of myserver "
        f"({MYSERVER_ID}) was started and goes on in the cloud; watch it "
        f"with: openstack server show {MYSERVER_ID}"
    )
    assert cloud.server_record(MYSERVER_ID)["status"] == "REBUILD"
    assert changes(cloud) == [
        ("POST", f"/compute/v2/100001/servers/{MYSERVER_ID}/action")
    ]
