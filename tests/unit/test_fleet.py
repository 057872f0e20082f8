"""The fleet-wide read (fleet.py): one scan or one request per server,
whichever costs fewer requests; and ``nova scheduled-images-list --long``
and ``nova scheduled-images-check`` over requests-mock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests_mock as rm

from rax_scheduled_images_python_novaclient_ext import fleet
from rax_scheduled_images_python_novaclient_ext.config import NOW_ENV

from .conftest import COMPUTE, IMAGE, SERVER_ID, api_calls, glance_image

MARKER = "org.openstack__1__created_by=scheduled_images_service"


class FakeImages:
    """An ImageManager that counts what it is asked."""

    def __init__(self, pages: list[list[dict[str, Any]]]) -> None:
        self.pages = pages
        self.pages_read = 0
        self.scans: list[tuple[bool, tuple[str, ...]]] = []
        self.per_server: list[str] = []

    def project_image_pages(
        self, marked_only: bool = False, fields: Any = None
    ) -> Iterator[list[dict[str, Any]]]:
        self.scans.append((marked_only, tuple(fields)))
        for page in self.pages:
            self.pages_read += 1
            yield page

    def list_for_server(self, server_id: str) -> list[dict[str, Any]]:
        self.per_server.append(server_id)
        return [
            dict(image, extra="dropped")
            for page in self.pages
            for image in page
            if image["instance_uuid"] == server_id
        ]


class Collect:
    def __init__(self) -> None:
        self.images: list[dict[str, Any]] = []

    def add(self, images: Any) -> None:
        self.images.extend(images)


def servers(count: int) -> list[str]:
    return [f"s{n}" for n in range(count)]


def pages_of(count: int) -> list[list[dict[str, Any]]]:
    return [
        [{"id": f"i{n}", "instance_uuid": f"s{n}", "name": "x"}]
        for n in range(count)
    ]


@pytest.mark.parametrize(
    ("count", "budget"), [(0, 0), (3, 0), (4, 1), (7, 1), (2000, 500)]
)
def test_scan_budget_is_a_quarter_of_the_servers(
    count: int, budget: int
) -> None:
    assert fleet.scan_budget(count) == budget


def test_scan_that_ends_within_budget_is_used_alone() -> None:
    images = FakeImages(pages_of(2))
    sink, way = fleet.read_images(images, servers(8), Collect)
    assert way == "scan"
    assert images.pages_read == 2 and images.per_server == []
    assert images.scans == [(False, fleet.HEALTH_FIELDS)]
    assert [i["id"] for i in sink.images] == ["i0", "i1"]


def test_scan_over_budget_gives_way_to_per_server_without_double_count() -> (
    None
):
    images = FakeImages(pages_of(9))
    sink, way = fleet.read_images(
        images, servers(8), Collect, marked_only=True, concurrency=3
    )
    assert way == "per-server"
    # Budget 2: the third page shows the scan is not ending; it stops.
    assert images.pages_read == 3
    assert images.scans == [(True, fleet.HEALTH_FIELDS)]
    assert sorted(images.per_server) == servers(8)
    assert [i["id"] for i in sink.images] == [f"i{n}" for n in range(8)]
    assert all("extra" not in image for image in sink.images)


def test_few_servers_never_scan() -> None:
    images = FakeImages(pages_of(1))
    _, way = fleet.read_images(images, servers(3), Collect)
    assert way == "per-server"
    # Read 8 at a time: in whatever order the threads finish.
    assert images.scans == [] and sorted(images.per_server) == servers(3)


def test_no_servers_read_nothing() -> None:
    images = FakeImages(pages_of(1))
    sink, way = fleet.read_images(images, [], Collect)
    assert (way, sink.images, images.scans, images.per_server) == (
        "per-server",
        [],
        [],
        [],
    )


# --- nova, over requests-mock -------------------------------------------

IDS = [f"{n:08d}-1111-4111-8111-111111111111" for n in range(4)]
NOW = "2026-11-10T12:00:00Z"


def listed(*entries: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "servers": [
            {"id": sid, "name": name, "OS-SI:image_schedule": sched}
            for sid, name, sched in entries
        ]
    }


@pytest.fixture
def now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NOW_ENV, NOW)


def one_server(mock: rm.Mocker, images: list[dict[str, Any]]) -> None:
    # Any query: list --long asks for the scheduled servers, the check
    # for every server (the list carries each one's schedule).
    mock.get(
        f"{COMPUTE}/servers/detail",
        json=listed((SERVER_ID, "myserver", {"retention": 3})),
    )
    mock.get(
        f"{IMAGE}/v2/images?instance_uuid={SERVER_ID}&limit=1000",
        json={"images": images},
    )


def test_nova_list_long_shows_health(nova: Any, mock: rm.Mocker, now: None):
    failed = dict(glance_image("f1", 9), status="killed", size=None)
    one_server(
        mock,
        [
            dict(glance_image("a1", 9), size=1024**3),
            dict(glance_image("a2", 8), size=512 * 1024**2),
            failed,
            glance_image("k1", 1, marked=False),
        ],
    )
    result = nova("scheduled-images-list", "--long")
    assert result.code == 0, result.err
    assert result.error_lines == []
    line = [r for r in result.out.splitlines() if SERVER_ID in r][0]
    cells = [cell.strip() for cell in line.strip("|").split("|")]
    assert cells == [
        SERVER_ID, "myserver", "Daily", "", "3", "2026-11-09 03:04", "32h 55m",
        "2", "1", "1", "1.5 GiB", "late",
    ]  # fmt: skip
    header = [r for r in result.out.splitlines() if "Last image" in r][0]
    assert [cell.strip() for cell in header.strip("|").split("|")] == [
        "ID", "Name", "Type", "Day", "Retention", "Last image (UTC)", "Age",
        "Counted", "Failed", "Kept", "Size", "State",
    ]  # fmt: skip
    assert api_calls(mock) == [
        ("GET", "/v2/p1/servers/detail?os-si:image_schedule=true"),
        ("GET", f"/v2/images?instance_uuid={SERVER_ID.lower()}&limit=1000"),
    ]


def test_nova_check_ok_exit_0(nova: Any, mock: rm.Mocker, now: None):
    one_server(mock, [dict(glance_image("a1", 10), size=10)])
    result = nova("scheduled-images-check")
    assert (result.code, result.out) == (
        0,
        "SCHEDULED IMAGES OK - 1 scheduled server: 1 ok; 10 B in their "
        "images; 0 servers without a schedule | 'ok'=1;;; "
        "'failed-images'=0;;; 'no-images'=0;;; 'late'=0;;; 'missed'=0;;; "
        "'clock-skew'=0;;; 'size'=10B;;; 'unscheduled'=0;;;\n",
    )


@pytest.mark.parametrize(
    ("warning", "critical", "code", "verdict", "state"),
    [
        ("30", "57", 1, "WARNING", "late"),
        ("20", "56.9", 2, "CRITICAL", "missed"),
    ],
)
def test_nova_check_exit_codes_follow_the_ages(
    nova: Any,
    mock: rm.Mocker,
    now: None,
    warning: str,
    critical: str,
    code: int,
    verdict: str,
    state: str,
) -> None:
    one_server(mock, [glance_image("a1", 8)])  # 56h 55m old
    result = nova(
        "scheduled-images-check",
        "--daily-warning", warning, "--daily-critical", critical,
    )  # fmt: skip
    lines = result.out.splitlines()
    assert result.code == code
    assert lines[0].startswith(f"SCHEDULED IMAGES {verdict} - ")
    assert lines[1].startswith(f"{state}: myserver ({SERVER_ID}): ")


def test_nova_check_with_garbage_from_the_image_api_is_unknown(
    nova: Any, mock: rm.Mocker, now: None
):
    one_server(mock, [])
    mock.get(
        f"{IMAGE}/v2/images?instance_uuid={SERVER_ID}&limit=1000",
        text="<html>oops</html>",
    )
    result = nova("scheduled-images-check")
    assert result.code == 3
    assert result.out.startswith(
        "SCHEDULED IMAGES UNKNOWN - MalformedResponseError: The Image API's "
        "answer to GET /v2/images?"
    )
    assert len(result.out.splitlines()) == 1


def test_nova_check_bad_ages_are_unknown_exit_3(nova: Any, mock: rm.Mocker):
    result = nova(
        "scheduled-images-check",
        "--weekly-warning", "9", "--weekly-critical", "3",
    )  # fmt: skip
    assert (result.code, result.out) == (
        3,
        "SCHEDULED IMAGES UNKNOWN - The weekly critical age (3d) is below "
        "the weekly warning age (9d): it must be the same or longer.\n",
    )
    assert api_calls(mock) == []
    negative = nova("scheduled-images-check", "--daily-critical", "-5")
    assert negative.code == 3
    assert negative.out == (
        "SCHEDULED IMAGES UNKNOWN - nova scheduled-images-check: argument "
        "--daily-critical: Invalid age '-5': it must be a positive number "
        "of hours.\n"
    )
    assert api_calls(mock) == []


@pytest.mark.parametrize(
    ("argv", "reason"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--server"], "argument --server: expected one argument"),
        # (argparse quotes the choices from Python 3.12.? on)
        (["--unscheduled", "maybe"], "argument --unscheduled: invalid "),
    ],
)
def test_nova_check_argparse_errors_are_unknown_exit_3(
    nova: Any, mock: rm.Mocker, argv: list[str], reason: str
) -> None:
    result = nova("scheduled-images-check", *argv)
    assert result.code == 3
    assert result.out.startswith(
        f"SCHEDULED IMAGES UNKNOWN - nova scheduled-images-check: {reason}"
    )
    assert len(result.out.splitlines()) == 1
    assert api_calls(mock) == []


def test_nova_check_of_many_servers_scans_marked_images_once(
    nova: Any, mock: rm.Mocker, now: None
):
    mock.get(
        f"{COMPUTE}/servers/detail",
        json=listed(*[(sid, f"s{n}", {"retention": 2}) for n, sid in
                      enumerate(IDS)]),
    )  # fmt: skip
    own = [
        dict(glance_image(f"i{n}", 10, server=sid), owner="p1")
        for n, sid in enumerate(IDS)
    ]
    foreign = dict(glance_image("x", 10, server=IDS[0]), owner="other")
    mock.get(f"{IMAGE}/v2/images?owner=p1", json={"images": [*own, foreign]})
    result = nova("scheduled-images-check")
    assert result.code == 0, result.out + result.err
    assert result.out.startswith(
        "SCHEDULED IMAGES OK - 4 scheduled servers: 4 ok;"
    )
    # One server list (unfiltered: it shows each server's schedule, and
    # the servers without one), one page of the project's images (all of
    # them: an image kept by `keep` still proves the service ran).
    assert api_calls(mock) == [
        ("GET", "/v2/p1/servers/detail"),
        ("GET", "/v2/images?owner=p1&limit=1000"),
    ]


def test_nova_check_named_server_without_schedule_is_unknown(
    nova: Any, mock: rm.Mocker, now: None
):
    mock.get(
        f"{COMPUTE}/servers/{SERVER_ID}",
        json={"server": {"id": SERVER_ID, "name": "myserver"}},
    )
    mock.get(
        f"{COMPUTE}/servers/{SERVER_ID}/os-si-image-schedule",
        status_code=404,
        json={
            "itemNotFound": {
                "message": "Image schedule does not exist for server x",
                "code": 404,
            }
        },
    )
    result = nova("scheduled-images-check", "--server", SERVER_ID)
    assert (result.code, result.out) == (
        3,
        f"SCHEDULED IMAGES UNKNOWN - Server myserver ({SERVER_ID}) has no "
        "image schedule: there is nothing to check.\n",
    )


# --- read_region: one region's read, never raising --------------------------


class FakeCompute:
    class client:  # noqa: N801 - novaclient's attribute name
        endpoint_override = "http://compute.test"


class FakeSchedules:
    def __init__(self, rows: list[Any], error: Exception | None = None):
        self.rows, self.error = rows, error

    def list_schedules(self, all_servers: bool, concurrency: int) -> Any:
        assert all_servers  # one listing for both kinds of server
        if self.error is not None:
            raise self.error
        return self.rows


class FakeImageManager(FakeImages):
    def project_id(self) -> str:
        return "p1"

    def endpoint_region(self) -> None:
        return None


def test_read_region_splits_scheduled_and_unscheduled_servers() -> None:
    from rax_scheduled_images_python_novaclient_ext import check
    from rax_scheduled_images_python_novaclient_ext import schedule as domain

    rows = [
        domain.ServerSchedule("s0", "db", domain.Schedule(3)),
        domain.ServerSchedule("s1", "web", None),
        domain.ServerSchedule("s2", "scratch", None),
    ]
    read = fleet.read_region(
        FakeCompute,
        lambda: FakeSchedules(rows),
        lambda: FakeImageManager([]),
        [],
        check.CheckOptions(ignore_servers=("scr*",)),
    )
    assert (read.region, read.project, read.error) == (None, "p1", None)
    assert [(r.server_name, r.state) for r in read.rows] == [
        ("db", "no-images")
    ]
    assert [(r.server_name, r.state) for r in read.unscheduled] == [
        ("web", "unscheduled")
    ]


def test_read_region_turns_a_cloud_error_into_its_error() -> None:
    from novaclient import exceptions

    from rax_scheduled_images_python_novaclient_ext import check

    read = fleet.read_region(
        FakeCompute,
        lambda: FakeSchedules([], exceptions.Forbidden(403, "no")),
        lambda: FakeImageManager([]),
        [],
        check.CheckOptions(),
    )
    assert (read.rows, read.unscheduled, read.error) == (
        [],
        [],
        "Forbidden: no (HTTP 403)",
    )


def test_nova_check_counts_unscheduled_and_takes_the_new_options(
    nova: Any, mock: rm.Mocker, now: None
):
    mock.get(
        f"{COMPUTE}/servers/detail",
        json={
            "servers": [
                {
                    "id": SERVER_ID,
                    "name": "myserver",
                    "OS-SI:image_schedule": {"retention": 3},
                },
                {"id": IDS[0], "name": "web"},
                {"id": IDS[1], "name": "tmp-1"},
            ]
        },
    )
    mock.get(
        f"{IMAGE}/v2/images?instance_uuid={SERVER_ID}&limit=1000",
        json={"images": [glance_image("a1", 10)]},
    )
    result = nova(
        "scheduled-images-check", "--unscheduled", "warning",
        "--ignore-server", "tmp-*",
    )  # fmt: skip
    assert result.code == 1, result.out + result.err
    assert result.out.splitlines()[1:] == [
        f"unscheduled: web ({IDS[0]}): no image schedule"
    ]
    assert "; 1 server without a schedule |" in result.out
    assert api_calls(mock) == [
        ("GET", "/v2/p1/servers/detail"),
        ("GET", f"/v2/images?instance_uuid={SERVER_ID.lower()}&limit=1000"),
    ]


def test_nova_check_of_an_empty_project_is_unknown_unless_allowed(
    nova: Any, mock: rm.Mocker, now: None
):
    mock.get(f"{COMPUTE}/servers/detail", json={"servers": []})
    result = nova("scheduled-images-check")
    assert result.code == 3
    assert result.out.startswith(
        "SCHEDULED IMAGES UNKNOWN - no scheduled servers found in project "
    )
    allowed = nova("scheduled-images-check", "--allow-empty")
    assert allowed.code == 0
    assert allowed.out.startswith("SCHEDULED IMAGES OK - 0 scheduled ")
