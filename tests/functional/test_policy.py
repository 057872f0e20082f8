"""Schedules as code with the installed ``openstack``, against the sandbox:
export, edit, plan, apply, plan again, and the service's next run."""

from __future__ import annotations

import json
import pathlib
from collections.abc import Iterator

import pytest
import requests

from rax_scheduled_images_python_novaclient_ext.sandbox.server import Sandbox

from .conftest import bin_dir, clean_env, run_command, schedule_of

pytestmark = [
    pytest.mark.functional,
    pytest.mark.skipif(
        not (bin_dir() / "openstack").exists(),
        reason="python-openstackclient is not installed",
    ),
]

DB_ID = "3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69"
NEW_ID = "66666666-6666-4666-8666-666666666666"
OLD_ID = "77777777-7777-4777-8777-777777777777"
SCHEDULE = ("server", "image", "schedule")


def add_server(cloud: Sandbox, name: str, server_id: str | None = None) -> str:
    body = {"name": name, **({"id": server_id} if server_id else {})}
    answer = requests.post(
        f"{cloud.url}/sandbox/servers", json=body, timeout=10
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["server"]["id"])


def images_of(cloud: Sandbox, server_id: str) -> set[str]:
    with cloud.lock:
        return {
            image.id
            for image in cloud.state.images.values()
            if image.properties.get("instance_uuid") == server_id
        }


@pytest.fixture
def cloud() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def openstack_in(cloud: Sandbox):
    env = clean_env(**cloud.env())

    def run(*argv: str):
        return run_command(["openstack", *argv], env, timeout=300)

    return run


def test_export_edit_plan_apply_and_the_next_run_deletes_what_was_named(
    cloud: Sandbox, tmp_path: pathlib.Path
) -> None:
    openstack = openstack_in(cloud)
    add_server(cloud, "new-1", NEW_ID)
    add_server(cloud, "old-1", OLD_ID)
    enabled = openstack(*SCHEDULE, "set", "--retention", "4", OLD_ID)
    assert enabled.code == 0, enabled
    exported = openstack(*SCHEDULE, "export")
    assert exported.code == 0, exported
    assert exported.out == (
        "rules:\n"
        "- match: {name: db}\n"
        "  schedule: {daily: true, retention: 3}\n"
        "- match: {name: old-1}\n"
        "  schedule: {daily: true, retention: 4}\n"
        "default: unmanaged\n"
    )
    # One decrease (db 3 -> 2), one new server, one none.
    edited = exported.out.replace("retention: 3}", "retention: 2}").replace(
        "  schedule: {daily: true, retention: 4}\n",
        "  schedule: none\n"
        "- match: {name: new-*}\n"
        "  schedule: {weekly: friday, retention: 5}\n",
    )
    path = tmp_path / "fleet.yaml"
    path.write_text(edited)

    planned = openstack(
        *SCHEDULE, "plan", str(path), "--detailed-exitcode", "-f", "json"
    )
    assert planned.code == 2, planned
    rows = {row["server_name"]: row for row in json.loads(planned.out)}
    assert {name: row["action"] for name, row in rows.items()} == {
        "db": "change",
        "old-1": "delete",
        "new-1": "create",
        "web": "unmanaged",
        "myserver": "unmanaged",
    }
    doomed = {image["id"] for image in rows["db"]["doomed_images"]}
    assert len(doomed) == 2  # of its three counted images, the two oldest
    assert doomed < images_of(cloud, DB_ID)

    applied = openstack(*SCHEDULE, "apply", str(path), "--yes")
    assert applied.code == 0, applied
    for image_id in doomed:
        assert f"deletes at the next run: {image_id}" in applied.out
    assert schedule_of(cloud, DB_ID) == (2, None)
    assert schedule_of(cloud, NEW_ID) == (5, "FRIDAY")
    assert schedule_of(cloud, OLD_ID) is None

    again = openstack(*SCHEDULE, "plan", str(path), "--detailed-exitcode")
    assert again.code == 0, again

    before = images_of(cloud, DB_ID)
    ticked = requests.post(f"{cloud.url}/sandbox/tick", json={}, timeout=30)
    assert ticked.status_code == 200, ticked.text
    after = images_of(cloud, DB_ID)
    assert before - after == doomed


def test_an_exported_fleet_of_600_servers_plans_no_changes(
    tmp_path: pathlib.Path,
) -> None:
    with Sandbox(servers=600, scheduled=300, images=300) as cloud:
        # Names a glob would misread, and a name two servers share (one
        # scheduled): each rule must still cover its one server.
        odd = [add_server(cloud, name) for name in ("db*", "a?b", "[x]")]
        shared = [add_server(cloud, "twin") for _ in range(2)]
        openstack = openstack_in(cloud)
        for server_id in (*odd, shared[0]):
            done = openstack(*SCHEDULE, "set", "--retention", "2", server_id)
            assert done.code == 0, done
        exported = openstack(*SCHEDULE, "export")
        assert exported.code == 0, exported
        assert exported.out.count("- match:") == 1 + 300 + 4
        assert "{name: 'db[*]'}" in exported.out
        assert f"{{name: twin, id: {shared[0]}}}" in exported.out
        path = tmp_path / "exported.yaml"
        path.write_text(exported.out)
        planned = openstack(
            *SCHEDULE, "plan", str(path), "--detailed-exitcode", "-f", "json"
        )
        assert planned.code == 0, planned
        rows = json.loads(planned.out)
        assert {row["action"] for row in rows} == {"unmanaged"}
        assert len(rows) == 604 + 5 - 305
        assert "warning" not in planned.err


def test_regions_a_region_not_read_fails_plan_and_stops_apply(
    tmp_path: pathlib.Path,
) -> None:
    with Sandbox(regions=["DFW", "ORD"]) as cloud:
        openstack = openstack_in(cloud)
        exported = openstack(*SCHEDULE, "export", "--all-regions")
        assert exported.code == 0, exported
        assert "{name: db, region: DFW}" in exported.out
        assert "region: ORD}" in exported.out
        path = tmp_path / "all.yaml"
        path.write_text(exported.out.replace("retention: 3}", "retention: 4}"))
        planned = openstack(
            *SCHEDULE, "plan", str(path), "--all-regions",
            "--detailed-exitcode",
        )  # fmt: skip
        assert planned.code == 2, planned
        failing = requests.put(
            f"{cloud.url}/sandbox/regions/ORD/fail",
            json={"status": 503},
            timeout=10,
        )
        assert failing.status_code == 204, failing.text
        planned = openstack(
            *SCHEDULE, "plan", str(path), "--all-regions",
            "--detailed-exitcode",
        )  # fmt: skip
        assert planned.code == 1, planned
        assert "Region ORD could not be read:" in planned.err
        applied = openstack(
            *SCHEDULE, "apply", str(path), "--all-regions", "--yes"
        )
        assert applied.code == 1, applied
        assert applied.err.strip().endswith(
            "Not applied: a region could not be read (above); nothing changed."
        )
        assert schedule_of(cloud, DB_ID) == (3, None)
