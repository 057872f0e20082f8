"""What a stranger found in 1.1.0 (issue 19), with the installed commands
against the sandbox: ids spelled otherwise than Nova's, another
project's server, a protected image, an incomplete list, and Ctrl-C
pressed twice (or during the scan), each held against the sandbox's
own state and request log.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox.model import (
    MYSERVER_ID,
    format_time,
)

from .conftest import bin_dir, clean_env
from .test_orphans import ALT_APP, DB, IMAGE_ID, WEB, admin, all_image_ids
from .test_orphans import cloud as cloud  # noqa: F401 (the fixture)
from .test_orphans import run as run  # noqa: F401 (the fixture)

pytestmark = pytest.mark.functional

PURGE = {
    "nova": ["nova", "scheduled-images-orphan-purge"],
    "openstack": ["openstack", "scheduled", "image", "purge"],
}
UUID = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)


def deletes(cloud) -> list[str]:
    """The image ids the sandbox received a DELETE for."""
    return [
        r["path"].rsplit("/", 1)[1]
        for r in cloud.requests
        if r["method"] == "DELETE" and r["path"].startswith("/image/")
    ]


def add_image(cloud, server_id, instance_uuid, **extra) -> str:
    """An image of the demo project naming ``instance_uuid``."""
    body = {
        "server_id": server_id,
        "properties": {"instance_uuid": instance_uuid},
        "created_at": "2024-12-20T03:17:00Z",
        **extra,
    }
    return admin(cloud, "POST", "images", body)["id"]


@pytest.mark.parametrize("command", ["nova", "openstack"])
def test_the_purge_never_deletes_images_of_a_server_that_exists(
    run, cloud, command
):
    # myserver exists. 1.1.0 read "CAA9..." and " caa9..." as other
    # servers, GET /servers/<that spelling> answered 404 twice, and it
    # deleted them. A snapshot Nova made of alt's server (instance_owner)
    # is that server's, not a deleted one; an instance_uuid that is no
    # UUID names no server anyone can check.
    spelled = {
        add_image(cloud, MYSERVER_ID, MYSERVER_ID.upper()),
        add_image(cloud, MYSERVER_ID, f"  {MYSERVER_ID} "),
        add_image(cloud, MYSERVER_ID, MYSERVER_ID.replace("-", "")),
        add_image(
            cloud,
            MYSERVER_ID,
            ALT_APP,
            properties={"instance_uuid": ALT_APP, "instance_owner": "alt"},
        ),
    }
    odd = add_image(cloud, MYSERVER_ID, "24ade2fe")
    before = all_image_ids(cloud)
    cloud.clear_requests()
    result = run(*PURGE[command], "--yes", "--keep", "0")
    assert result.code == 0, result
    gone = set(deletes(cloud))
    assert gone == {i for i in before if i not in all_image_ids(cloud)}
    assert not gone & (spelled | {odd})
    assert all_image_ids(cloud) >= spelled | {odd}
    # db's three marked images are the only ones deleted.
    assert len(gone) == 3
    assert (
        "Skipped server '24ade2fe': could not tell whether it exists (its "
        "instance_uuid is not a server ID); its 1 image left alone."
    ) in result.error_lines
    # No server was asked for by a spelling Nova does not use.
    asked = [r["path"] for r in cloud.requests if "/servers/" in r["path"]]
    assert all(p == p.lower() and " " not in p for p in asked)


def test_the_orphan_list_that_skipped_a_server_exits_1_and_says_so(run, cloud):
    admin(cloud, "PUT", f"servers/{DB}/answer", {"status": 503})
    for argv in (
        ["nova", "scheduled-images-orphan-list"],
        ["openstack", "scheduled", "image", "list", "--orphaned"],
    ):
        result = run(*argv)
        assert result.code == 1, result
        assert result.error_lines[-1].endswith(
            "1 server skipped (could not tell whether it exists): its "
            "images are not in this list."
        ), result


def test_a_dry_run_names_a_protected_image_as_kept_not_would_delete(
    run, cloud
):
    with cloud.lock:
        oldest = min(
            (i for i in cloud.state.images.values()
             if i.properties.get("instance_uuid") == DB
             and "org.openstack__1__created_by" in i.properties),
            key=lambda i: i.created_at,
        )  # fmt: skip
        oldest.protected = True
    dry = run(*PURGE["openstack"], "--keep", "0")
    assert dry.code == 0, dry
    assert oldest.id not in IMAGE_ID.findall(dry.out)
    assert (
        f"Keeping image {oldest.id} of server {DB}: it is protected "
        "(protected: true), so the Image API would refuse to delete it."
    ) in dry.error_lines
    done = run(*PURGE["openstack"], "--keep", "0", "--yes")
    assert done.code == 0, done
    assert oldest.id in all_image_ids(cloud)


@pytest.mark.parametrize("command", ["nova", "openstack"])
def test_older_than_is_strictly_more_and_takes_decimals(run, cloud, command):
    # db's marked images are 1, 2 and 3 days old (the sandbox's clock).
    cloud.clear_requests()
    exactly = run(*PURGE[command], "--keep", "0", "--older-than", "3")
    assert exactly.code == 0, exactly
    # 1.1.0 listed the image exactly 3 days old.
    assert IMAGE_ID.findall(exactly.out) == []
    decimal = run(*PURGE[command], "--keep", "0", "--older-than", "2.5")
    # 1.1.0: "invalid count '2.5'", exit 2.
    assert decimal.code == 0, decimal
    assert len(IMAGE_ID.findall(decimal.out)) == 1


def _slow_purge(cloud, cache_dir, command, signals):
    """Run a purge of 17 images two at a time, 2 s per request; send
    ``signals`` SIGINTs, 0.8 s apart, once the first deletion is
    reported. Returns (exit code, stdout, stderr)."""
    for day in range(2, 15):
        when = f"2024-12-{day:02d}T03:17:00Z"
        admin(cloud, "POST", "images", {"server_id": WEB, "created_at": when})
    admin(cloud, "DELETE", f"servers/{WEB}")
    admin(cloud, "POST", "faults", {"latency_ms": 2000})
    env = clean_env(**cloud.env(), NOVACLIENT_UUID_CACHE_DIR=cache_dir)
    env["SCHEDULED_IMAGES_NOW"] = format_time(cloud.state.clock)
    cloud.clear_requests()
    argv = [*PURGE[command], "--yes", "--keep", "0", "--concurrency", "2"]
    process = subprocess.Popen(
        [str(bin_dir() / argv[0]), *argv[1:]],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True,
        # Ctrl-C as a terminal delivers it, whatever this runner ignores
        # (under nohup, SIGINT starts ignored and is inherited).
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    out = []
    try:
        while True:
            line = process.stdout.readline()
            assert line, f"ended before a deletion: {process.stderr.read()}"
            out.append(line)
            if line.startswith("Deleted image "):
                break
        # The next two deletions start as the first ones are reported:
        # give them time to be sent, so that two are in flight.
        time.sleep(0.3)
        for count in range(signals):
            if count:
                time.sleep(0.8)
            process.send_signal(signal.SIGINT)
        # Read on through the same buffered files: communicate() would
        # miss what readline() buffered.
        rest = process.stdout.read()
        err = process.stderr.read()
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    # The requests left in flight reach the sandbox all the same.
    time.sleep(2.0)
    return process.returncode, "".join(out) + rest, err


@pytest.mark.parametrize("command", ["nova", "openstack"])
@pytest.mark.parametrize("signals", [2, 3])
def test_ctrl_c_twice_still_reports_every_deletion_the_sandbox_saw(
    cloud, cache_dir, command, signals
):
    # 1.1.0: the second Ctrl-C killed the process; 4 images deleted in
    # the request log, 0 reported, no Interrupted line.
    code, out, err = _slow_purge(cloud, cache_dir, command, signals)
    assert code == 130, (out, err)
    planned = IMAGE_ID.findall(out)
    assert len(planned) == 17  # web's 14 and db's 3
    (line,) = [x for x in err.splitlines() if x.startswith("Interrupted:")]
    match = re.match(
        r"Interrupted: (\d+) of 17 done; may have completed: (.*?); "
        r"not started: (.*)$",
        line,
    )
    assert match, line
    done, maybe, rest = match.groups()
    reported = set(re.findall(r"^Deleted image (\S+) ", out, re.MULTILINE))
    maybe_ids = set(UUID.findall(maybe))
    not_started = set(UUID.findall(rest))
    more = re.search(r" and (\d+) more$", rest)
    assert maybe_ids, "nothing was in flight: the test proves nothing"
    assert int(done) == len(reported)
    assert (
        int(done)
        + len(maybe_ids)
        + len(not_started)
        + int(more.group(1) if more else 0)
        == 17
    )
    sent = set(deletes(cloud))
    # Every DELETE the sandbox got is reported: done, or may have
    # completed; none of those said not to have started was sent.
    assert reported <= sent <= reported | maybe_ids
    assert not sent & not_started
    assert not (all_image_ids(cloud) & reported)


@pytest.mark.parametrize("command", ["nova", "openstack"])
def test_ctrl_c_during_the_scan_says_nothing_was_deleted(
    cloud, cache_dir, command
):
    admin(cloud, "POST", "faults", {"latency_ms": 3000})
    env = clean_env(**cloud.env(), NOVACLIENT_UUID_CACHE_DIR=cache_dir)
    cloud.clear_requests()
    argv = [*PURGE[command], "--yes", "--keep", "0"]
    process = subprocess.Popen(
        [str(bin_dir() / argv[0]), *argv[1:]],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    try:
        # Interrupt once the scan has begun: its first image page sent.
        for _ in range(600):
            if any(r["path"].startswith("/image/") for r in cloud.requests):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the scan never began")
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, (out, err)
    lines = [
        x for x in err.splitlines() if x and "nova CLI is deprecated" not in x
    ]
    # 1.1.0: openstack said nothing; nova, novaclient's "... terminating".
    assert lines == [
        "Interrupted before any deletion: nothing was deleted."
    ], err
    assert deletes(cloud) == []


UNKNOWN = "99999999-9999-4999-8999-999999999999"


@pytest.mark.parametrize(
    "argv",
    [
        ["nova", "scheduled-images-enable", "--dry-run", UNKNOWN, "3"],
        ["openstack", "server", "image", "schedule", "set", "--retention",
         "3", "--dry-run", UNKNOWN],
    ],
)  # fmt: skip
def test_a_dry_run_on_a_server_that_does_not_exist_is_an_error(
    run, cloud, argv
):
    result = run(*argv)
    assert result.code == 1, result
    assert "dry run" not in (result.out + result.err).lower()
    assert result.error_lines[-1].endswith(
        f"No server with a name or ID of '{UNKNOWN}' exists."
    )
    assert [
        r for r in cloud.requests
        if r["method"] == "POST" and r["path"].startswith("/compute")
    ] == []  # fmt: skip


def test_a_schedule_with_no_images_alone_is_a_warning(run, cloud):
    # Every other check test has a worse server beside it: here the
    # no-images state alone decides the exit code (WARNING, 1).
    assert run("nova", "scheduled-images-enable", "myserver", "3").code == 0
    for argv in (
        ["nova", "scheduled-images-check", "--server", "myserver"],
        ["openstack", "server", "image", "schedule", "check", "--server",
         "myserver"],
    ):  # fmt: skip
        result = run(*argv)
        assert result.code == 1, result
        assert "no-images" in result.out, result


def test_counted_is_yes_only_for_what_the_service_counts(run, cloud):
    for status in ("killed", "queued", "saving"):
        admin(cloud, "POST", "images", {"server_id": WEB, "status": status})
    nova = run("nova", "scheduled-images-image-list", WEB)
    assert nova.code == 0, nova
    by_status = {
        cells[3]: cells[4]
        for cells in (
            [c.strip() for c in line.split("|")[1:-1]]
            for line in nova.out.splitlines()[3:-1]
        )
    }
    # 1.1.0: "yes" for each of them.
    assert by_status == {
        "active": "yes",
        "killed": "failed",
        "queued": "in progress",
        "saving": "in progress",
    }
    osc = run(
        "openstack", "scheduled", "image", "list", "--server", WEB,
        "-f", "json",
    )  # fmt: skip
    assert osc.code == 0, osc

    assert {r["Status"]: r["Counted"] for r in json.loads(osc.out)} == (
        by_status
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["nova", "scheduled-images-show"],
        ["openstack", "server", "image", "schedule", "show", "-f", "value",
         "-c", "retention"],
    ],
)  # fmt: skip
def test_a_server_id_typed_in_upper_case_is_that_server(run, cloud, argv):
    assert run("nova", "scheduled-images-enable", "myserver", "4").code == 0
    cloud.clear_requests()
    result = run(*argv, MYSERVER_ID.upper())
    assert result.code == 0, result
    assert "4" in result.out
    asked = [r["path"] for r in cloud.requests if "/servers/" in r["path"]]
    assert asked and all(MYSERVER_ID in path for path in asked)
