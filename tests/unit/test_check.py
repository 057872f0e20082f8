"""The check's text and exit code (check.py), from the health of a
fleet: every verdict, the servers listed worst first, and a hypothesis
property."""

from __future__ import annotations

import datetime

from hypothesis import given
from hypothesis import strategies as st

from rax_scheduled_images_python_novaclient_ext import check, health
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


def fleet(
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
    lines, code = check.report(fleet(("a", 1, DAILY), ("b", 100, WEEKLY)))
    assert code == 0
    assert lines == [
        "SCHEDULED IMAGES OK - 2 scheduled servers: 2 ok; 2.0 GiB in their "
        "images | 'ok'=2;;; 'failed-images'=0;;; 'no-images'=0;;; "
        "'late'=0;;; 'missed'=0;;; 'size'=2147483648B;;;"
    ]


def test_check_warning_lists_servers_not_ok_worst_first() -> None:
    rows = fleet(("b-late", 30, DAILY), ("a-new", -1, DAILY), ("c", 1, DAILY))
    lines, code = check.report(rows)
    assert code == 1
    assert lines == [
        "SCHEDULED IMAGES WARNING - 3 scheduled servers: 1 ok, 1 late, "
        "1 no-images; 2.0 GiB in their images | 'ok'=1;;; "
        "'failed-images'=0;;; 'no-images'=1;;; 'late'=1;;; 'missed'=0;;; "
        "'size'=2147483648B;;;",
        "late: b-late (s-0): newest image 30h old (daily warning after 28h)",
        "no-images: a-new (s-1): no ACTIVE scheduled image yet",
    ]


def test_check_critical_when_any_missed() -> None:
    lines, code = check.report(fleet(("x", 53, DAILY), ("y", 30, DAILY)))
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
    lines, code = check.report(rows)
    assert code == 1
    assert lines[1] == (
        "failed-images: db (s): newest image 1h old; 1 failed image to delete"
    )
    assert "'size'=1073741834B;;;" in lines[0]


def test_check_without_scheduled_servers_is_ok() -> None:
    rows = health.fleet_health(
        [domain.ServerSchedule("s", "web", None)], [], NOW
    )
    assert check.report(rows) == (
        [
            "SCHEDULED IMAGES OK - 0 scheduled servers: 0 ok; 0 B in their "
            "images | 'ok'=0;;; 'failed-images'=0;;; 'no-images'=0;;; "
            "'late'=0;;; 'missed'=0;;; 'size'=0B;;;"
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
    rows = fleet(
        *[
            (f"s{n}", age.total_seconds() / 3600, schedule)
            for n, (age, schedule) in enumerate(servers)
        ]
    )
    lines, code = check.report(rows)
    expected = max(
        (check.STATE_EXIT[row.state or "ok"] for row in rows), default=0
    )
    assert code == expected
    assert len(lines) == 1 + sum(row.state != "ok" for row in rows)
    verdict = ["OK", "WARNING", "CRITICAL"][code]
    assert lines[0].startswith(f"SCHEDULED IMAGES {verdict} - ")
