"""Images of deleted servers, with the installed ``nova`` and ``openstack``.

The sandbox deletes a server as Nova does (its images stay); these
tests list and purge them with the real commands and check every safety
rule against the sandbox's own state and request log.
"""

from __future__ import annotations

import json
import re
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

DB = "3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69"
ALT_APP = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
WEB = "6c1f0a4e-2b7d-4f0e-9a51-3d2e8b7c9f01"
IMAGE_ID = re.compile(r"^  ([0-9a-f-]{36})  ", re.MULTILINE)


def admin(cloud, method, path, body=None):
    answer = requests.request(
        method, f"{cloud.url}/sandbox/{path}", json=body, timeout=10
    )
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


@pytest.fixture
def cloud():
    """The seed, plus: `db` deleted (3 marked images, 1 kept), a public
    marked image of another project's server, and `web` (which exists)
    with a marked image."""
    with Sandbox(second_region="RegionTwo") as sandbox:
        admin(sandbox, "POST", "images", {"server_id": WEB})
        admin(
            sandbox,
            "POST",
            "images",
            {"server_id": ALT_APP, "visibility": "public"},
        )
        admin(sandbox, "DELETE", f"servers/{DB}")
        yield sandbox


@pytest.fixture
def run(cloud, cache_dir):
    def run(*argv, region=True):
        env = clean_env(**cloud.env(), NOVACLIENT_UUID_CACHE_DIR=cache_dir)
        # The commands' "now" is the sandbox's clock, as for a user whose
        # cloud and computer agree on the time.
        env["SCHEDULED_IMAGES_NOW"] = format_time(cloud.state.clock)
        if not region:
            del env["OS_REGION_NAME"]
        return run_command(list(argv), env)

    return run


def images_of(cloud, server_id):
    with cloud.lock:
        return {
            image.id: image
            for image in cloud.state.images.values()
            if image.properties.get("instance_uuid") == server_id
        }


def all_image_ids(cloud):
    with cloud.lock:
        return set(cloud.state.images)


def changes(cloud):
    """Requests to compute and image that could change anything."""
    return [
        (r["method"], r["path"])
        for r in cloud.requests
        if r["method"] != "GET" and not r["path"].startswith("/identity")
    ]


def db_marked(cloud):
    return sorted(
        (image.created_at, image.id)
        for image in images_of(cloud, DB).values()
        if "org.openstack__1__created_by" in image.properties
    )


def test_nova_orphan_list_shows_only_the_deleted_servers_own_images(
    run, cloud
):
    result = run("nova", "scheduled-images-orphan-list")
    assert result.code == 0, result
    ids = [
        line.split("|")[1].strip() for line in result.out.splitlines()[3:-2]
    ]
    assert ids == [image_id for _, image_id in db_marked(cloud)]
    assert result.out.splitlines()[-1] == (
        "Total: 3 images, 3221225472 bytes (3.0 GiB)"
    )
    kept = run("nova", "scheduled-images-orphan-list", "--include-kept")
    assert kept.out.splitlines()[-1] == (
        "Total: 4 images, 4294967296 bytes (4.0 GiB)"
    )
    assert changes(cloud) == []


def test_openstack_list_orphaned_json(run, cloud):
    result = run(
        "openstack", "scheduled", "image", "list", "--orphaned",
        "--include-kept", "-f", "json",
    )  # fmt: skip
    assert result.code == 0, result
    rows = json.loads(result.out)
    assert {tuple(row) for row in rows} == {
        ("id", "name", "server_id", "created_at", "status", "size_bytes",
         "counted"),
    }  # fmt: skip
    assert sorted(r["id"] for r in rows) == sorted(images_of(cloud, DB))
    assert sorted(r["counted"] for r in rows) == ["no", "yes", "yes", "yes"]
    assert {r["server_id"] for r in rows} == {DB}
    assert result.err.strip().splitlines()[-1] == (
        "Total: 4 images, 4294967296 bytes (4.0 GiB)"
    )


@pytest.mark.parametrize("command", ["nova", "openstack"])
def test_purge_deletes_exactly_what_the_dry_run_listed(run, cloud, command):
    argv = (
        ["nova", "scheduled-images-orphan-purge"]
        if command == "nova"
        else ["openstack", "scheduled", "image", "purge"]
    )
    before = all_image_ids(cloud)
    dry = run(*argv)
    assert dry.code == 0, dry
    listed = IMAGE_ID.findall(dry.out)
    assert all_image_ids(cloud) == before
    assert changes(cloud) == []
    # --keep 1: the newest marked image of db stays.
    marked = db_marked(cloud)
    assert sorted(listed) == sorted(i for _, i in marked[:-1])
    assert dry.out.splitlines()[0] == (
        "Would delete: 2 images, 2147483648 bytes (2.0 GiB)"
    )

    done = run(*argv, "--yes")
    assert done.code == 0, done
    assert sorted(changes(cloud)) == sorted(
        ("DELETE", f"/image/v2/images/{image_id}") for image_id in listed
    )
    assert all_image_ids(cloud) == before - set(listed)
    for image_id in listed:
        assert f"Deleted image {image_id} (" in done.out


def test_keep_0_include_kept_and_older_than(run, cloud):
    # Two of db's images are 1 and 2 days old, one 3, the kept one 10.
    # "More than 3 days": the one exactly 3 days old stays (1.1.0 took
    # it).
    result = run(
        "nova", "scheduled-images-orphan-purge", "--keep", "0",
        "--older-than", "3", "--include-kept", "--yes",
    )  # fmt: skip
    assert result.code == 0, result
    left = sorted(
        (i.created_at, "org.openstack__1__created_by" in i.properties)
        for i in images_of(cloud, DB).values()
    )
    assert len(left) == 3 and all(marked for _, marked in left)
    assert len(changes(cloud)) == 1


def test_a_server_nova_will_not_answer_for_is_skipped(run, cloud):
    admin(cloud, "PUT", f"servers/{DB}/answer", {"status": 403})
    before = all_image_ids(cloud)
    result = run(
        "nova", "scheduled-images-orphan-purge", "--yes", "--keep", "0"
    )
    assert result.code == 0, result
    assert result.error_lines == [
        f"Skipped server {DB}: could not tell whether it exists "
        "(HTTP 403); its 3 images left alone."
    ]
    assert result.out == "No images of deleted servers to delete.\n"
    assert all_image_ids(cloud) == before
    assert changes(cloud) == []


def test_an_existing_server_missing_from_the_list_is_never_purged(run, cloud):
    # myserver exists; its image is checked by GET (not only the list).
    admin(cloud, "POST", "images", {"server_id": MYSERVER_ID})
    result = run(
        "nova", "scheduled-images-orphan-purge", "--yes", "--keep", "0"
    )
    assert result.code == 0, result
    assert len(images_of(cloud, MYSERVER_ID)) == 1
    assert len(images_of(cloud, WEB)) == 1
    assert len(images_of(cloud, ALT_APP)) == 3  # alt's two and the public
    gets = [
        r["path"]
        for r in cloud.requests
        if r["method"] == "GET" and r["path"].endswith(DB)
    ]
    assert len(gets) == 2  # a 404 is confirmed by a second read


@pytest.mark.parametrize("command", ["nova", "openstack"])
def test_two_regions_and_none_chosen_is_refused(run, cloud, command):
    argv = (
        ["nova", "scheduled-images-orphan-purge", "--yes"]
        if command == "nova"
        else ["openstack", "scheduled", "image", "purge", "--yes"]
    )
    result = run(*argv, region=False)
    assert result.code == 1, result
    line = (
        "The compute endpoint is in region RegionTwo and the image "
        "endpoint in region RegionOne: every server would look deleted. "
        "Choose one region (--os-region-name or OS_REGION_NAME) and run "
        "again."
    )
    assert result.error_lines[-1].endswith(line)
    assert not [r for r in cloud.requests if r["path"].startswith("/image")]
    assert changes(cloud) == []


# --- lowering a retention ---------------------------------------------------


@pytest.mark.parametrize("command", ["nova", "openstack"])
def test_lowering_names_exactly_what_the_next_run_deletes(run, cloud, command):
    assert run("nova", "scheduled-images-enable", "myserver", "8").code == 0
    cloud.tick(days=9)  # eight images kept
    assert len(images_of(cloud, MYSERVER_ID)) == 8
    argv = (
        ["nova", "scheduled-images-enable", "myserver", "3"]
        if command == "nova"
        else ["openstack", "server", "image", "schedule", "set",
              "--retention", "3", "myserver"]
    )  # fmt: skip
    cloud.clear_requests()
    dry = run(*argv, "--dry-run")
    assert dry.code == 0, dry
    assert "POST" not in [method for method, _ in changes(cloud)]
    with cloud.lock:
        assert cloud.state.servers[MYSERVER_ID].schedule.retention == 8

    done = run(*argv)
    assert done.code == 0, done
    assert done.error_lines == dry.error_lines
    head, *listed = done.error_lines
    assert head == (
        "Retention 8 -> 3: the next scheduled image of myserver deletes "
        "6 images:"
    )
    named = {line.split()[0] for line in listed}
    before = set(images_of(cloud, MYSERVER_ID))
    cloud.tick(days=1)
    assert before - set(images_of(cloud, MYSERVER_ID)) == named


def test_raising_prints_no_warning(run, cloud):
    assert run("nova", "scheduled-images-enable", "myserver", "3").code == 0
    cloud.tick(days=4)
    result = run("nova", "scheduled-images-enable", "myserver", "5")
    assert (result.code, result.error_lines) == (0, [])
    image_reads = [r for r in cloud.requests if r["path"].startswith("/image")]
    assert image_reads == []


def test_ctrl_c_stops_a_purge_and_says_what_was_done(cloud, cache_dir):
    for day in range(2, 14):
        when = f"2024-12-{day:02d}T03:17:00Z"
        admin(cloud, "POST", "images", {"server_id": WEB, "created_at": when})
    admin(cloud, "DELETE", f"servers/{WEB}")
    admin(cloud, "POST", "faults", {"latency_ms": 300})
    env = clean_env(**cloud.env(), NOVACLIENT_UUID_CACHE_DIR=cache_dir)
    cloud.clear_requests()
    argv = [
        str(bin_dir() / "nova"), "scheduled-images-orphan-purge", "--yes",
        "--keep", "0", "--concurrency", "1",
    ]  # fmt: skip
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    # Interrupt once the first deletion has been answered.
    for _ in range(600):
        if any(r["method"] == "DELETE" for r in cloud.requests):
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, (out, err)
    planned = IMAGE_ID.findall(out)
    assert len(planned) == 16  # web's 13 and db's 3
    deleted = [
        r["path"].rsplit("/", 1)[1]
        for r in cloud.requests
        if r["method"] == "DELETE"
    ]
    (line,) = [x for x in err.splitlines() if x.startswith("Interrupted:")]
    done, rest = re.match(
        r"Interrupted: (\d+) of 16 done; not started: (.*)$", line
    ).groups()
    assert int(done) == len(deleted) < 16
    # Past ten, the not started ones are counted (bulk.interrupted_line).
    not_started = [i for i in planned if i not in deleted]
    named, _, more = rest.partition(" and ")
    assert named.split(", ") == not_started[:10]
    assert more == (f"{len(not_started) - 10} more" if more else "")
    for image_id in deleted:
        assert f"Deleted image {image_id} (" in out
    remaining = all_image_ids(cloud)
    assert not set(deleted) & remaining
    assert set(planned) - set(deleted) <= remaining
