"""``openstack server image schedule list --long`` and ``... check``,
and the fleet-wide ``openstack scheduled image list``, in-process with
Keystone, Nova and the Image API mocked."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests_mock as rm

from rax_scheduled_images_python_novaclient_ext.config import NOW_ENV

from ..conftest import AUTH_URL, IMAGE, glance_image
from ..orphan_cloud import two_regions
from .conftest import COMPUTE, SERVER_ID, WEB1, WEB2, WEB3, api_calls

NOW = "2026-11-10T12:00:00Z"
LISTED = f"{COMPUTE}/servers/detail?OS-SI:image_schedule=True"
# Every server: the check's one listing (it carries the schedules); a
# mock of it answers the filtered listing of list --long too.
EVERY = f"{COMPUTE}/servers/detail"
FOUR = [SERVER_ID, WEB1, WEB2, WEB3]


@pytest.fixture(autouse=True)
def now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NOW_ENV, NOW)


def listing(*entries: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "servers": [
            {"id": sid, "name": name, "OS-SI:image_schedule": sched}
            for sid, name, sched in entries
        ]
    }


def weekly_and_daily(mock: rm.Mocker) -> None:
    mock.get(
        EVERY,
        json=listing(
            (SERVER_ID, "myserver", {"retention": 3}),
            (WEB1, "web1", {"retention": 2, "day_of_week": "MONDAY"}),
        ),
    )
    mock.get(
        f"{IMAGE}/v2/images?instance_uuid={SERVER_ID}&limit=1000",
        json={
            "images": [
                dict(glance_image("a1", 10), size=2048),
                dict(glance_image("f1", 9), status="error", size=None),
                glance_image("k1", 2, marked=False),
            ]
        },
    )
    mock.get(
        f"{IMAGE}/v2/images?instance_uuid={WEB1}&limit=1000",
        json={"images": []},
    )


def test_list_long_json_has_the_contract_keys(openstack: Any, mock: Any):
    weekly_and_daily(mock)
    result = openstack(
        "server", "image", "schedule", "list", "--long", "-f", "json"
    )
    assert result.code == 0, result.err
    assert json.loads(result.out) == [
        {
            "server_id": SERVER_ID,
            "server_name": "myserver",
            "type": "daily",
            "day_of_week": None,
            "retention": 3,
            "last_image_id": "a1",
            "last_image_created": "2026-11-10T03:04:05Z",
            "age_hours": 8.93,
            "counted": 1,
            "failed": 1,
            "kept": 1,
            "size_bytes": 2048,
            "state": "failed-images",
            "reason": "newest image Daily-myserver-1710, 8h 55m old; 1 "
            "failed image to delete",
        },
        {
            "server_id": WEB1,
            "server_name": "web1",
            "type": "weekly",
            "day_of_week": "MONDAY",
            "retention": 2,
            "last_image_id": None,
            "last_image_created": None,
            "age_hours": None,
            "counted": 0,
            "failed": 0,
            "kept": 0,
            "size_bytes": 0,
            "state": "no-images",
            "reason": "no ACTIVE scheduled image yet",
        },
    ]


def test_list_long_table_has_titles_and_human_units(openstack: Any, mock: Any):
    weekly_and_daily(mock)
    result = openstack(
        "server", "image", "schedule", "list", "--long", "-f", "csv"
    )
    assert result.out.splitlines()[0].startswith('"server_id","server_name"')
    table = openstack("server", "image", "schedule", "list", "--long")
    lines = [line for line in table.out.splitlines() if "|" in line]
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    assert cells[0] == [
        "ID", "Name", "Type", "Day", "Retention", "Last image (UTC)", "Age",
        "Counted", "Failed", "Kept", "Size", "State",
    ]  # fmt: skip
    assert cells[1][5:] == [
        "2026-11-10 03:04", "8h 55m", "1", "1", "1", "2.0 KiB", "failed-images"
    ]  # fmt: skip


def test_list_without_long_is_unchanged(openstack: Any, mock: Any):
    weekly_and_daily(mock)
    result = openstack("server", "image", "schedule", "list", "-f", "json")
    assert list(json.loads(result.out)[0]) == [
        "ID", "Name", "Type", "Day", "Retention"
    ]  # fmt: skip
    assert not any("/v2/images" in path for _, path in api_calls(mock))


def test_check_warning_exit_1(openstack: Any, mock: Any):
    weekly_and_daily(mock)
    result = openstack("server", "image", "schedule", "check")
    assert result.code == 1
    assert result.out.splitlines() == [
        "SCHEDULED IMAGES WARNING - 2 scheduled servers: 0 ok, 1 no-images, "
        "1 failed-images; 2.0 KiB in their images; 0 servers without a "
        "schedule | 'ok'=0;;; 'failed-images'=1;;; 'no-images'=1;;; "
        "'late'=0;;; 'missed'=0;;; 'clock-skew'=0;;; 'size'=2048B;;; "
        "'unscheduled'=0;;;",
        f"no-images: web1 ({WEB1}): no ACTIVE scheduled image yet",
        f"failed-images: myserver ({SERVER_ID}): newest image "
        "Daily-myserver-1710, 8h 55m old; 1 failed image to delete",
    ]


def test_check_of_named_servers_only(openstack: Any, mock: Any):
    weekly_and_daily(mock)
    mock.get(
        f"{COMPUTE}/servers/{SERVER_ID}",
        json={
            "server": {
                "id": SERVER_ID,
                "name": "myserver",
                "OS-SI:image_schedule": {"retention": 3},
            }
        },
    )
    result = openstack(
        "server", "image", "schedule", "check", "--server", SERVER_ID,
        "--server", SERVER_ID,
    )  # fmt: skip
    assert result.code == 1
    assert result.out.startswith(
        "SCHEDULED IMAGES WARNING - 1 scheduled server: 0 ok, 1 failed-images;"
    )
    assert ("GET", "/v2/p1/servers/detail?os-si:image_schedule=true") not in (
        api_calls(mock)
    )


@pytest.mark.parametrize(
    ("image_day", "code", "verdict"),
    [(10, 0, "OK"), (9, 1, "WARNING"), (7, 2, "CRITICAL")],
)
def test_check_exit_code_is_the_verdict(
    openstack: Any, mock: Any, image_day: int, code: int, verdict: str
):
    mock.get(EVERY, json=listing((SERVER_ID, "myserver", {"retention": 3})))
    mock.get(
        f"{IMAGE}/v2/images?instance_uuid={SERVER_ID}&limit=1000",
        json={"images": [glance_image("a1", image_day)]},
    )
    result = openstack("server", "image", "schedule", "check")
    assert result.code == code
    assert result.out.startswith(f"SCHEDULED IMAGES {verdict} - ")


def test_check_failed_login_is_unknown_exit_3(openstack: Any, mock: Any):
    mock.post(
        AUTH_URL + "/auth/tokens",
        status_code=401,
        json={"error": {"code": 401, "message": "Bad password"}},
    )
    result = openstack("server", "image", "schedule", "check")
    assert result.code == 3
    assert result.out.startswith("SCHEDULED IMAGES UNKNOWN - Unauthorized: ")
    assert len(result.out.splitlines()) == 1
    assert api_calls(mock) == []


def test_check_refused_listing_is_unknown(openstack: Any, mock: Any):
    mock.get(
        EVERY,
        status_code=503,
        json={"serviceUnavailable": {"message": "down", "code": 503}},
    )
    result = openstack(
        "--os-scheduled-images-retries", "0",
        "server", "image", "schedule", "check",
    )  # fmt: skip
    assert result.code == 3
    assert result.out.startswith("SCHEDULED IMAGES UNKNOWN - ")
    assert "down" in result.out


def test_check_critical_below_warning_is_unknown_and_sends_nothing(
    openstack: Any, mock: Any
):
    result = openstack(
        "server", "image", "schedule", "check",
        "--daily-warning", "30", "--daily-critical", "29",
    )  # fmt: skip
    assert (result.code, result.out) == (
        3,
        "SCHEDULED IMAGES UNKNOWN - The daily critical age (29h) is below "
        "the daily warning age (30h): it must be the same or longer.\n",
    )
    assert api_calls(mock) == []


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--server"], "argument --server: expected one argument"),
        (["--daily-warning", "-5"], "argument --daily-warning: "),
        (["--unscheduled", "maybe"], "argument --unscheduled: invalid "),
    ],
)
def test_check_argparse_errors_are_unknown_exit_3(
    openstack: Any, mock: Any, argv: list[str], reason: str
) -> None:
    result = openstack("server", "image", "schedule", "check", *argv)
    assert result.code == 3
    assert result.out.startswith(
        "SCHEDULED IMAGES UNKNOWN - openstack server image schedule check: "
        + reason
    )
    assert len(result.out.splitlines()) == 1
    assert api_calls(mock) == []


def test_check_of_an_empty_server_name_is_unknown_exit_3(
    openstack: Any, mock: Any
) -> None:
    result = openstack("server", "image", "schedule", "check", "--server", "")
    assert result.code == 3
    assert result.out.startswith("SCHEDULED IMAGES UNKNOWN - ")
    assert len(result.out.splitlines()) == 1
    assert api_calls(mock) == []


def test_fleet_image_list_reads_one_scan_for_many_servers(
    openstack: Any, mock: Any
):
    mock.get(
        LISTED,
        json=listing(*[(sid, f"s{n}", {"retention": 2}) for n, sid in
                       enumerate(FOUR)]),
    )  # fmt: skip
    images = [
        dict(glance_image(f"i{n}", 9 - n, server=sid), owner="p1")
        for n, sid in enumerate(FOUR)
    ]
    images.append(dict(glance_image("old", 1, server=WEB1), owner="p1"))
    mock.get(f"{IMAGE}/v2/images?owner=p1", json={"images": images})
    result = openstack(
        "scheduled", "image", "list", "-f", "csv",
        "-c", "Server", "-c", "ID", "-c", "Deleted at next run",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        '"Server","ID","Deleted at next run"',
        f'"{SERVER_ID}","i0","no"',
        f'"{WEB1}","old","yes"',
        f'"{WEB1}","i1","no"',
        f'"{WEB2}","i2","no"',
        f'"{WEB3}","i3","no"',
    ]
    assert api_calls(mock) == [
        ("GET", "/v2/p1/servers/detail?os-si:image_schedule=true"),
        ("GET", "/v2/images?owner=p1&limit=1000"),
    ]


@pytest.mark.parametrize(
    ("formatter", "expected"),
    [
        ("value", f"{WEB1} web1 weekly MONDAY 2 "),
        ("csv", f'"{WEB1}","web1","weekly","MONDAY",2,"","",""'),
    ],
)
def test_list_long_value_and_csv_show_a_missing_value_empty(
    openstack: Any, mock: Any, formatter: str, expected: str
):
    weekly_and_daily(mock)
    result = openstack(
        "server", "image", "schedule", "list", "--long", "-f", formatter
    )
    assert result.code == 0, result.err
    assert "None" not in result.out
    web1 = [line for line in result.out.splitlines() if WEB1 in line][0]
    assert web1.startswith(expected)


# --- 1.2.0: what the check did not see is never OK --------------------------


def mixed(mock: rm.Mocker) -> None:
    """One scheduled server (fresh image), two without a schedule."""
    mock.get(
        EVERY,
        json={
            "servers": [
                {
                    "id": SERVER_ID,
                    "name": "myserver",
                    "OS-SI:image_schedule": {"retention": 3},
                },
                {"id": WEB1, "name": "web1"},
                {"id": WEB2, "name": "scratch-1"},
            ]
        },
    )
    mock.get(
        f"{IMAGE}/v2/images?instance_uuid={SERVER_ID}&limit=1000",
        json={"images": [glance_image("a1", 10)]},
    )


def test_check_counts_servers_without_a_schedule_from_one_listing(
    openstack: Any, mock: Any
):
    mixed(mock)
    result = openstack("server", "image", "schedule", "check")
    assert result.code == 0
    assert result.out.splitlines() == [
        "SCHEDULED IMAGES OK - 1 scheduled server: 1 ok; 0 B in their "
        "images; 2 servers without a schedule | 'ok'=1;;; "
        "'failed-images'=0;;; 'no-images'=0;;; 'late'=0;;; 'missed'=0;;; "
        "'clock-skew'=0;;; 'size'=0B;;; 'unscheduled'=2;;;"
    ]
    # The same requests as 1.1.0's check: one server list (unfiltered,
    # so it shows the servers without a schedule too), one image list.
    assert api_calls(mock) == [
        ("GET", "/v2/p1/servers/detail"),
        ("GET", f"/v2/images?instance_uuid={SERVER_ID}&limit=1000"),
    ]


@pytest.mark.parametrize(
    ("argv", "code", "names"),
    [
        (["--unscheduled", "warning"], 1, ["scratch-1", "web1"]),
        (["--unscheduled", "critical"], 2, ["scratch-1", "web1"]),
        (
            ["--unscheduled", "critical", "--ignore-server", "scratch-*"],
            2,
            ["web1"],
        ),
        (
            [
                "--unscheduled",
                "critical",
                "--ignore-server",
                "scratch-*",
                "--ignore-server",
                "web?",
            ],
            0,
            [],
        ),  # fmt: skip
    ],
)
def test_unscheduled_and_ignore_server(
    openstack: Any, mock: Any, argv: list[str], code: int, names: list[str]
):
    mixed(mock)
    result = openstack("server", "image", "schedule", "check", *argv)
    assert result.code == code
    lines = result.out.splitlines()
    assert [line.split(" ")[1] for line in lines[1:]] == names
    assert all(line.startswith("unscheduled: ") for line in lines[1:])
    assert f"; {len(names)} server" in lines[0]


def test_check_of_a_project_without_schedules_is_unknown(
    openstack: Any, mock: Any
):
    mock.get(EVERY, json={"servers": [{"id": WEB1, "name": "web1"}]})
    # The filter works: no server has a schedule.
    mock.get(LISTED, json={"servers": []})
    result = openstack("server", "image", "schedule", "check")
    assert result.code == 3
    assert result.out.startswith(
        "SCHEDULED IMAGES UNKNOWN - no scheduled servers found in project "
        "p1; 1 server without a schedule | "
    )
    allowed = openstack(
        "server", "image", "schedule", "check", "--allow-empty"
    )
    assert allowed.code == 0
    assert allowed.out.startswith(
        "SCHEDULED IMAGES OK - 0 scheduled servers: 0 ok;"
    )


def test_check_across_two_regions_is_unknown_and_reads_nothing(
    openstack: Any, mock: Any
):
    two_regions(mock)
    result = openstack("server", "image", "schedule", "check")
    assert (result.code, result.out) == (
        3,
        "SCHEDULED IMAGES UNKNOWN - The compute endpoint is in region "
        "RegionTwo and the image endpoint in region RegionOne: every server "
        "would look as if it had no images. Choose one region "
        "(--os-region-name or OS_REGION_NAME) and run again.\n",
    )
    assert api_calls(mock) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["server", "image", "schedule", "list", "--long"],
        ["scheduled", "image", "list"],
    ],
)
def test_joins_across_two_regions_are_refused(
    openstack: Any, mock: Any, argv: list[str]
):
    two_regions(mock)
    mock.get(EVERY, json={"servers": []})
    result = openstack(*argv)
    assert result.code == 1
    assert result.error_lines == [
        "The compute endpoint is in region RegionTwo and the image endpoint "
        "in region RegionOne: every server would look as if it had no "
        "images. Choose one region (--os-region-name or OS_REGION_NAME) and "
        "run again."
    ]
    assert not any("/v2/images" in path for _, path in api_calls(mock))


def test_list_long_all_servers_shows_unscheduled(openstack: Any, mock: Any):
    mixed(mock)
    for sid in (WEB1, WEB2):
        mock.get(
            f"{IMAGE}/v2/images?instance_uuid={sid}&limit=1000",
            json={"images": []},
        )
    result = openstack(
        "server", "image", "schedule", "list", "--long", "--all-servers",
        "-f", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    rows = json.loads(result.out)
    assert [(r["server_name"], r["state"], r["reason"]) for r in rows] == [
        ("myserver", "ok", "newest image Daily-myserver-1710, 8h 55m old"),
        ("web1", "unscheduled", "no image schedule"),
        ("scratch-1", "unscheduled", "no image schedule"),
    ]
