"""Is it working? ``list --long`` and ``check`` of both installed
commands against the sandbox, every state and every exit code.

The sandbox's daily job is told to skip or fail for some servers, so
that after two days each state shows on one server; the commands take
"now" from the sandbox's clock (``Sandbox.now_env``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from rax_scheduled_images_python_novaclient_ext.sandbox import (
    handler as handler_module,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.model import (
    MYSERVER_ID,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.protocol import (
    Response,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.server import Sandbox

from .conftest import clean_env, run_command

pytestmark = pytest.mark.functional

WEB_A = "6c1f0a4e-2b7d-4f0e-9a51-3d2e8b7c9f01"
WEB_B = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
DB = "3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69"
EXPECTED = {
    MYSERVER_ID: "ok",
    WEB_A: "late",
    DB: "missed",
    WEB_B: "failed-images",
}


def outcome(cloud: Sandbox, server_id: str, value: str) -> None:
    answer = requests.post(
        f"{cloud.url}/sandbox/outcome",
        json={"server_id": server_id, "outcome": value},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text


@pytest.fixture(scope="module")
def cloud() -> Any:
    """Two days of the service in which every state comes about."""
    with Sandbox(servers=1) as sandbox:
        fleet_id = next(
            s.id for s in sandbox.state.servers.values()
            if s.name == "fleet-00000"
        )  # fmt: skip
        env = clean_env(**sandbox.env())
        for server in (MYSERVER_ID, WEB_A, WEB_B, fleet_id):
            done = run_command(
                ["nova", "scheduled-images-enable", server, "3"], env
            )
            assert done.code == 0, done
        outcome(sandbox, DB, "skip")  # db's newest image: 3 days old
        outcome(sandbox, fleet_id, "skip")  # never an image
        outcome(sandbox, WEB_B, "fail")
        sandbox.tick()
        outcome(sandbox, WEB_A, "skip")  # its newest: 2 days old
        outcome(sandbox, WEB_B, "ok")  # a good image after a killed one
        sandbox.tick()
        sandbox.fleet_id = fleet_id  # type: ignore[attr-defined]
        yield sandbox


def run(cloud: Sandbox, *argv: str, **extra: str) -> Any:
    env = clean_env(**{**cloud.env(), **cloud.now_env(), **extra})
    return run_command(list(argv), env)


def test_openstack_list_long_json_shows_every_state(cloud: Sandbox) -> None:
    result = run(
        cloud, "openstack", "server", "image", "schedule", "list",
        "--long", "-f", "json",
    )  # fmt: skip
    assert result.code == 0, result
    rows = {row["server_id"]: row for row in json.loads(result.out)}
    assert {sid: row["state"] for sid, row in rows.items()} == {
        **EXPECTED,
        cloud.fleet_id: "no-images",  # type: ignore[attr-defined]
    }
    assert list(rows[DB]) == [
        "server_id", "server_name", "type", "day_of_week", "retention",
        "last_image_id", "last_image_created", "age_hours", "counted",
        "failed", "kept", "size_bytes", "state", "reason",
    ]  # fmt: skip
    db = rows[DB]
    assert db["last_image_created"] == "2025-01-03T03:17:00Z"
    assert (db["age_hours"], db["counted"], db["kept"]) == (72.0, 3, 1)
    assert db["size_bytes"] == 3 * 1024**3
    assert db["reason"] == (
        "newest image Daily-db-1735874220, 3d old (daily critical after 52h)"
    )
    web_b = rows[WEB_B]
    assert (web_b["counted"], web_b["failed"], web_b["age_hours"]) == (
        1,
        1,
        24.0,
    )
    none = rows[cloud.fleet_id]  # type: ignore[attr-defined]
    assert none["last_image_id"] is None and none["age_hours"] is None


def test_nova_list_long_shows_the_same_states(cloud: Sandbox) -> None:
    result = run(cloud, "nova", "scheduled-images-list", "--long")
    assert result.code == 0, result
    states = {
        cells[0]: cells[-1]
        for cells in (
            [c.strip() for c in line.strip("|").split("|")]
            for line in result.out.splitlines()
            if line.startswith("| ")
        )
    }
    for server_id, state in EXPECTED.items():
        assert states[server_id] == state


@pytest.mark.parametrize("command", [
    ["nova", "scheduled-images-check"],
    ["openstack", "server", "image", "schedule", "check"],
])  # fmt: skip
def test_check_of_the_fleet_is_critical_exit_2(
    cloud: Sandbox, command: list[str]
) -> None:
    result = run(cloud, *command)
    assert result.code == 2, result
    lines = result.out.splitlines()
    assert lines[0].startswith(
        "SCHEDULED IMAGES CRITICAL - 5 scheduled servers: 1 ok, 1 missed, "
        "1 late, 1 no-images, 1 failed-images; "
    )
    assert lines[0].endswith(
        "| 'ok'=1;;; 'failed-images'=1;;; 'no-images'=1;;; 'late'=1;;; "
        "'missed'=1;;; 'clock-skew'=0;;; 'size'=7516192768B;;; "
        "'unscheduled'=0;;;"
    )
    assert [line.split(":")[0] for line in lines[1:]] == [
        "missed", "late", "no-images", "failed-images",
    ]  # fmt: skip
    assert lines[1] == (
        f"missed: db ({DB}): newest image Daily-db-1735874220, 3d old "
        "(daily critical after 52h)"
    )


@pytest.mark.parametrize(
    ("server", "code", "verdict"),
    [("myserver", 0, "OK"), (WEB_A, 1, "WARNING"), ("db", 2, "CRITICAL")],
)
@pytest.mark.parametrize("front", ["nova", "openstack"])
def test_check_of_one_server_exit_code(
    cloud: Sandbox, front: str, server: str, code: int, verdict: str
) -> None:
    command = (
        ["nova", "scheduled-images-check"]
        if front == "nova"
        else ["openstack", "server", "image", "schedule", "check"]
    )
    result = run(cloud, *command, "--server", server)
    assert result.code == code, result
    assert result.out.startswith(
        f"SCHEDULED IMAGES {verdict} - 1 scheduled server: "
    )


def test_check_thresholds_turn_late_into_ok(cloud: Sandbox) -> None:
    result = run(
        cloud, "openstack", "server", "image", "schedule", "check",
        "--server", WEB_A, "--daily-warning", "48",
    )  # fmt: skip
    assert result.code == 0, result  # exactly 48 hours: not yet late


def test_openstack_check_with_a_wrong_password_is_unknown_exit_3(
    cloud: Sandbox,
) -> None:
    result = run(
        cloud, "openstack", "server", "image", "schedule", "check",
        OS_PASSWORD="wrong",
    )  # fmt: skip
    assert result.code == 3, result
    assert result.out.startswith("SCHEDULED IMAGES UNKNOWN - Unauthorized: ")
    assert len(result.out.splitlines()) == 1


def test_nova_wrong_password_fails_before_the_check_runs(
    cloud: Sandbox,
) -> None:
    # python-novaclient logs in while it discovers the API version,
    # before it loads any extension: its own error, exit 1.
    result = run(cloud, "nova", "scheduled-images-check", OS_PASSWORD="x")
    assert result.code == 1
    assert result.error_lines[-1].startswith("ERROR (Unauthorized)")


@pytest.mark.parametrize("command", [
    ["nova", "scheduled-images-check"],
    ["openstack", "server", "image", "schedule", "check"],
])  # fmt: skip
def test_check_when_the_image_api_answers_garbage_is_unknown_exit_3(
    command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def garbage(*_: Any) -> Response:
        return Response(200, {"images": "not a list"})

    with Sandbox() as sandbox:
        monkeypatch.setitem(handler_module.API_ROUTES, "image", garbage)
        result = run(sandbox, *command)
    assert result.code == 3, result
    assert result.out == (
        "SCHEDULED IMAGES UNKNOWN - MalformedResponseError: The Image API's "
        "image list has no list of image objects under 'images' (got 'not "
        "a list').\n"
    )


def test_bad_ages_are_unknown_exit_3(cloud: Sandbox) -> None:
    for command in (
        ["nova", "scheduled-images-check"],
        ["openstack", "server", "image", "schedule", "check"],
    ):
        result = run(
            cloud, *command, "--daily-warning", "30", "--daily-critical",
            "10",
        )  # fmt: skip
        assert result.code == 3, result
        assert result.out == (
            "SCHEDULED IMAGES UNKNOWN - The daily critical age (10h) is "
            "below the daily warning age (30h): it must be the same or "
            "longer.\n"
        )
