"""The check's text and exit code (check.py), from the health of a
fleet: every verdict, the servers listed worst first, and a hypothesis
property."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rax_scheduled_images_python_novaclient_ext import check, fleet, health
from rax_scheduled_images_python_novaclient_ext import schedule as domain

from .conftest import (
    DAILY,
    FAST,
    NOW,
    WEEKLY,
    ages,
    hours,
    image,
    schedules,
)


def report(
    rows: list[health.ServerHealth],
    without: list[health.ServerHealth] | None = None,
    **options: Any,
) -> tuple[list[str], int]:
    """The check of one region read (project p1, region DFW), ``without``
    the servers without a schedule."""
    read = fleet.RegionRead("DFW", "p1", rows, without or [])
    return check.report([read], check.CheckOptions(**options))


def servers_of(
    *ages_and_types: tuple[str, float, domain.Schedule],
) -> list[health.ServerHealth]:
    servers = []
    images = []
    for number, (name, age, schedule) in enumerate(ages_and_types):
        sid = f"s-{number}"
        servers.append(domain.ServerSchedule(sid, name, schedule))
        if age >= 0:
            images.append(image(hours(age), server=sid, image_id=f"i{number}"))
    return health.fleet_health(servers, images, NOW)


def test_check_all_ok() -> None:
    lines, code = report(servers_of(("a", 1, DAILY), ("b", 100, WEEKLY)))
    assert code == 0
    assert lines == [
        "SCHEDULED IMAGES OK - 2 scheduled servers: 2 ok; 2.0 GiB in their "
        "images; 0 servers without a schedule | 'ok'=2;;; "
        "'failed-images'=0;;; 'no-images'=0;;; 'late'=0;;; 'missed'=0;;; "
        "'clock-skew'=0;;; 'size'=2147483648B;;; 'unscheduled'=0;;;"
    ]


def test_check_warning_lists_servers_not_ok_worst_first() -> None:
    rows = servers_of(
        ("b-late", 30, DAILY), ("a-new", -1, DAILY), ("c", 1, DAILY)
    )
    lines, code = report(rows)
    assert code == 1
    assert lines == [
        "SCHEDULED IMAGES WARNING - 3 scheduled servers: 1 ok, 1 late, "
        "1 no-images; 2.0 GiB in their images; 0 servers without a "
        "schedule | 'ok'=1;;; 'failed-images'=0;;; 'no-images'=1;;; "
        "'late'=1;;; 'missed'=0;;; 'clock-skew'=0;;; "
        "'size'=2147483648B;;; 'unscheduled'=0;;;",
        "late: b-late (s-0): newest image Daily-db-i0, 30h old (daily "
        "warning after 28h)",
        "no-images: a-new (s-1): no ACTIVE scheduled image yet",
    ]


def test_a_name_cannot_forge_a_line_or_performance_data() -> None:
    rows = servers_of(("db\nOK - all fine | 'ok'=9", 30, DAILY))
    lines, code = report(rows)
    assert code == 1
    assert len(lines) == 2
    assert lines[0].count("|") == 1
    assert lines[1].startswith(
        "late: db\\nOK - all fine \\x7c 'ok'=9 (s-0): newest image "
    )


def test_check_critical_when_any_missed() -> None:
    lines, code = report(servers_of(("x", 53, DAILY), ("y", 30, DAILY)))
    assert code == 2
    assert lines[0].startswith(
        "SCHEDULED IMAGES CRITICAL - 2 scheduled servers: 0 ok, 1 missed, "
        "1 late;"
    )
    assert lines[1].startswith("missed: x (s-0): ")
    assert lines[2].startswith("late: y (s-1): ")


def test_check_failed_images_is_a_warning() -> None:
    servers = [domain.ServerSchedule("s", "db", DAILY)]
    rows = health.fleet_health(
        servers,
        [
            image(hours(1), server="s"),
            image(hours(6), server="s", status="killed", size=10),
        ],
        NOW,
    )
    lines, code = report(rows)
    assert code == 1
    assert lines[1] == (
        "failed-images: db (s): newest image Daily-db-i-1, 1h old; 1 failed "
        "image to delete"
    )
    assert "'size'=1073741834B;;;" in lines[0]


def test_check_without_scheduled_servers_is_unknown_naming_where() -> None:
    web = health.unscheduled(domain.ServerSchedule("s", "web", None))
    assert report([], [web]) == (
        [
            "SCHEDULED IMAGES UNKNOWN - no scheduled servers found in "
            "project p1, region DFW; 1 server without a schedule | "
            "'ok'=0;;; 'failed-images'=0;;; 'no-images'=0;;; 'late'=0;;; "
            "'missed'=0;;; 'clock-skew'=0;;; 'size'=0B;;; 'unscheduled'=1;;;"
        ],
        3,
    )


def test_check_without_scheduled_servers_allowed_empty_is_ok() -> None:
    assert report([], allow_empty=True) == (
        [
            "SCHEDULED IMAGES OK - 0 scheduled servers: 0 ok; 0 B in their "
            "images; 0 servers without a schedule | 'ok'=0;;; "
            "'failed-images'=0;;; 'no-images'=0;;; 'late'=0;;; "
            "'missed'=0;;; 'clock-skew'=0;;; 'size'=0B;;; 'unscheduled'=0;;;"
        ],
        0,
    )


def test_check_unknown_is_one_line_and_exit_3() -> None:
    assert check.unknown("Login failed:\n  bad password") == (
        ["SCHEDULED IMAGES UNKNOWN - Login failed: bad password"],
        3,
    )


@FAST
@given(st.lists(st.tuples(ages, schedules), max_size=6))
def test_exit_code_is_the_worst_states(
    servers: list[tuple[datetime.timedelta, domain.Schedule]],
) -> None:
    rows = servers_of(
        *[
            (f"s{n}", age.total_seconds() / 3600, schedule)
            for n, (age, schedule) in enumerate(servers)
        ]
    )
    lines, code = report(rows, allow_empty=True)
    expected = max(
        (check.STATE_EXIT[row.state or "ok"] for row in rows), default=0
    )
    assert code == expected
    assert len(lines) == 1 + sum(row.state != "ok" for row in rows)
    verdict = ["OK", "WARNING", "CRITICAL", "UNKNOWN"][code]
    assert lines[0].startswith(f"SCHEDULED IMAGES {verdict} - ")


def test_a_region_that_could_not_be_read_is_unknown_and_named() -> None:
    late = servers_of(("web", 30, DAILY))
    reads = [
        fleet.RegionRead("DFW", "p1", late, []),
        fleet.RegionRead("ORD", "p1", [], [], error="ConnectFailure: down"),
    ]
    lines, code = check.report(reads, check.CheckOptions())
    assert code == 3
    assert lines[0].startswith(
        "SCHEDULED IMAGES UNKNOWN - region ORD could not be read: "
        "ConnectFailure: down; 1 scheduled server: 0 ok, 1 late;"
    )
    # The regions read still show their servers, region named.
    assert lines[1:] == [
        "late: web (s-0) in region DFW: newest image Daily-db-i0, 30h old "
        "(daily warning after 28h)"
    ]


def test_a_single_failed_read_is_its_reason_alone() -> None:
    read = fleet.RegionRead("DFW", "p1", [], [], error="Forbidden: no")
    assert check.report([read], check.CheckOptions()) == (
        ["SCHEDULED IMAGES UNKNOWN - Forbidden: no"],
        3,
    )


@pytest.mark.parametrize(
    ("unscheduled", "code", "lines"),
    [("ignore", 0, 1), ("warning", 1, 2), ("critical", 2, 2)],
)
def test_unscheduled_servers_count_as_the_option_says(
    unscheduled: str, code: int, lines: int
) -> None:
    web = health.unscheduled(domain.ServerSchedule("s9", "web", None))
    shown, got = report(
        servers_of(("db", 1, DAILY)), [web], unscheduled=unscheduled
    )
    assert got == code
    assert "; 1 server without a schedule |" in shown[0]
    assert shown[0].endswith("'unscheduled'=1;;;")
    assert len(shown) == lines
    if lines == 2:
        assert shown[1] == "unscheduled: web (s9): no image schedule"
