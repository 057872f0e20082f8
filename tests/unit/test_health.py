"""The health of scheduled servers (health.py): every state, every
boundary, both schedule types, the timestamps the Image API writes, the
texts and sizes shown, and hypothesis properties."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rax_scheduled_images_python_novaclient_ext import health, health_columns
from rax_scheduled_images_python_novaclient_ext import schedule as domain

from .conftest import (
    DAILY,
    FAST,
    GIB,
    NOW,
    SERVER,
    WEEKLY,
    ages,
    hours,
    image,
    schedules,
)

OTHER = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def one(
    images: list[dict[str, Any]],
    schedule: domain.Schedule | None = DAILY,
    thresholds: health.Thresholds | None = None,
) -> health.ServerHealth:
    server = domain.ServerSchedule(SERVER, "db", schedule)
    (row,) = health.fleet_health([server], images, NOW, thresholds)
    return row


# --- the states -----------------------------------------------------------


def test_recent_daily_image_is_ok_with_last_image_and_counts() -> None:
    row = one(
        [
            image(hours(3), image_id="new"),
            image(hours(27), image_id="old", size=2 * GIB),
            image(hours(50), marked=False, image_id="kept"),
        ]
    )
    assert row.state == "ok"
    assert row.reason == "newest image Daily-db-new, 3h old"
    assert row.last is not None and row.last.id == "new"
    assert row.last.name == "Daily-db-new"
    assert row.age == hours(3)
    assert (row.counted, row.failed, row.kept) == (2, 0, 1)
    assert row.size == 3 * GIB  # the kept image is the user's, not counted


@pytest.mark.parametrize(
    ("age", "state"),
    [
        (hours(28), "ok"),  # exactly the warning age: still ok
        (hours(28) + datetime.timedelta(seconds=1), "late"),
        (hours(52), "late"),  # exactly the critical age: still late
        (hours(52) + datetime.timedelta(seconds=1), "missed"),
    ],
)
def test_daily_boundaries_are_exclusive(
    age: datetime.timedelta, state: str
) -> None:
    assert one([image(age)]).state == state


@pytest.mark.parametrize(
    ("age", "state"),
    [
        (datetime.timedelta(days=7), "ok"),
        (datetime.timedelta(days=8), "ok"),
        (datetime.timedelta(days=8, seconds=1), "late"),
        (datetime.timedelta(days=15), "late"),
        (datetime.timedelta(days=15, seconds=1), "missed"),
    ],
)
def test_weekly_boundaries(age: datetime.timedelta, state: str) -> None:
    assert one([image(age)], WEEKLY).state == state


def test_late_reason_gives_age_and_limit() -> None:
    row = one([image(hours(30))])
    assert (row.state, row.reason) == (
        "late",
        "newest image Daily-db-i-1, 30h old (daily warning after 28h)",
    )


def test_missed_weekly_reason_in_days() -> None:
    row = one([image(datetime.timedelta(days=16, hours=2))], WEEKLY)
    assert (row.state, row.reason) == (
        "missed",
        "newest image Daily-db-i-1, 16d 2h old (weekly critical after 15d)",
    )


def test_schedule_without_images_is_no_images() -> None:
    row = one([image(server=OTHER)])
    assert (row.state, row.reason) == (
        "no-images",
        "no ACTIVE scheduled image yet",
    )
    assert row.last is None and row.age is None
    assert (row.counted, row.failed, row.kept, row.size) == (0, 0, 0, 0)


def test_kept_images_alone_are_no_images() -> None:
    row = one([image(hours(1), marked=False)])
    assert row.state == "no-images"
    assert row.kept == 1


@pytest.mark.parametrize("status", ["killed", "deleted", "error", "saving"])
def test_marked_image_not_active_after_4_hours_has_failed(status: str) -> None:
    row = one(
        [
            image(hours(2), image_id="good"),
            image(
                hours(
                    4,
                )
                + datetime.timedelta(seconds=1),
                status=status,
                image_id="bad",
                size=None,
            ),
        ]
    )
    assert (row.state, row.reason) == (
        "failed-images",
        "newest image Daily-db-good, 2h old; 1 failed image to delete",
    )
    assert (row.counted, row.failed) == (1, 1)
    assert row.size == GIB  # a failed image without a size counts 0


def test_image_still_in_progress_is_neither_counted_nor_failed() -> None:
    row = one(
        [
            image(hours(20), image_id="good"),
            image(hours(4), status="queued", image_id="taking"),
        ]
    )
    assert row.state == "ok"
    assert (row.counted, row.failed, row.size) == (1, 0, GIB)


def test_failed_image_size_counts() -> None:
    row = one([image(hours(1)), image(hours(30), status="killed", size=5)])
    assert row.size == GIB + 5


def test_unmarked_failed_image_is_kept_not_failed() -> None:
    row = one(
        [image(hours(1)), image(hours(30), status="error", marked=False)]
    )
    assert (row.state, row.failed, row.kept) == ("ok", 0, 1)


def test_late_wins_over_failed_and_says_both() -> None:
    row = one([image(hours(40)), image(hours(9), status="killed")])
    assert (row.state, row.reason) == (
        "late",
        "newest image Daily-db-i-1, 40h old (daily warning after 28h); "
        "1 failed image to delete",
    )


def test_missed_wins_over_failed() -> None:
    rows = [image(hours(60))] + [
        image(hours(9), status="killed", image_id=f"k{n}") for n in range(2)
    ]
    row = one(rows)
    assert row.state == "missed"
    assert row.reason is not None
    assert row.reason.endswith("; 2 failed images to delete")


def test_only_failed_images_is_no_images_since_when() -> None:
    row = one([image(hours(9), status="error")])
    assert (row.state, row.reason) == (
        "no-images",
        "no ACTIVE image; 1 failed since 2025-01-10 03:00 UTC",
    )


def test_newest_is_by_time_not_by_order_and_status_any_case() -> None:
    row = one(
        [
            image(hours(40), image_id="old", status="ACTIVE"),
            image(hours(2), image_id="new", status="Active"),
        ]
    )
    assert row.last is not None and row.last.id == "new"
    assert row.counted == 2


def test_server_without_schedule_is_unscheduled() -> None:
    row = one([image(hours(100))], schedule=None)
    assert (row.state, row.reason) == ("unscheduled", "no image schedule")
    assert row.counted == 1


def test_other_servers_images_are_ignored() -> None:
    servers = [
        domain.ServerSchedule(SERVER, "db", DAILY),
        domain.ServerSchedule(OTHER, "app", WEEKLY),
    ]
    rows = health.fleet_health(
        servers,
        [image(hours(1)), image(hours(1), server="elsewhere")],
        NOW,
    )
    assert [(r.server_name, r.state, r.counted) for r in rows] == [
        ("db", "ok", 1),
        ("app", "no-images", 0),
    ]


# --- timestamps and sizes --------------------------------------------------


@pytest.mark.parametrize(
    "created",
    [
        "2025-01-09T12:00:00Z",
        "2025-01-09T12:00:00.000000Z",
        "2025-01-09T12:00:00",
        "2025-01-09T12:00:00.5",
        "2025-01-09T14:00:00+02:00",
        "2025-01-09T12:00:00.123456+00:00",
    ],
)
def test_timestamps_with_and_without_fraction_and_zone(created: str) -> None:
    row = one([image(created=created)])
    assert row.age is not None
    assert hours(23.99) <= row.age <= hours(24)
    assert row.state == "ok"


def test_active_image_without_a_time_counts_but_is_not_last() -> None:
    row = one([image(created="yesterday")])
    assert (row.state, row.counted, row.last) == ("no-images", 1, None)


def test_failed_image_without_a_time_is_failed() -> None:
    row = one([image(hours(1)), image(created="", status="killed")])
    assert row.failed == 1


@pytest.mark.parametrize("size", [None, "12", -1, True, 1.5])
def test_image_without_a_usable_size_counts_zero(size: object) -> None:
    made = image(size=size)
    assert one([made]).size == 0
    del made["size"]
    assert one([made]).size == 0


def test_images_read_without_kept_show_kept_as_unknown() -> None:
    tally = health.FleetTally(
        [domain.ServerSchedule(SERVER, "db", DAILY)], NOW, with_kept=False
    )
    tally.add([image()])
    (row,) = tally.rows(health.Thresholds())
    assert row.kept is None


# --- thresholds ------------------------------------------------------------


def test_custom_thresholds_apply_per_type() -> None:
    strict = health.Thresholds(
        daily_warning=hours(2),
        daily_critical=hours(3),
        weekly_warning=hours(4),
        weekly_critical=hours(5),
    )
    assert one([image(hours(2.5))], DAILY, strict).state == "late"
    assert one([image(hours(2.5))], WEEKLY, strict).state == "ok"
    assert one([image(hours(5.5))], WEEKLY, strict).state == "missed"


@pytest.mark.parametrize(
    ("text", "unit", "expected"),
    [
        ("28", "hours", hours(28)),
        (" 1.5 ", "hours", hours(1.5)),
        ("8", "days", datetime.timedelta(days=8)),
    ],
)
def test_parse_age(text: str, unit: str, expected: datetime.timedelta) -> None:
    assert health.parse_age(text, unit) == expected


@pytest.mark.parametrize("text", ["-1", "0", "", "abc", "nan", "inf", "1e400"])
def test_parse_age_refuses_with_one_line(text: str) -> None:
    with pytest.raises(domain.ScheduleError) as caught:
        health.parse_age(text, "hours")
    assert str(caught.value) == (
        f"Invalid age '{text}': it must be a positive number of hours."
    )


def test_critical_below_warning_is_refused() -> None:
    with pytest.raises(domain.ScheduleError) as caught:
        health.check_thresholds(
            health.Thresholds(
                daily_warning=hours(30), daily_critical=hours(29)
            )
        )
    assert str(caught.value) == (
        "The daily critical age (29h) is below the daily warning age "
        "(30h): it must be the same or longer."
    )
    with pytest.raises(domain.ScheduleError, match="weekly critical"):
        health.check_thresholds(
            health.Thresholds(weekly_critical=datetime.timedelta(days=7))
        )


def test_critical_equal_to_warning_is_allowed() -> None:
    same = health.Thresholds(daily_warning=hours(30), daily_critical=hours(30))
    assert health.check_thresholds(same) is same
    assert one([image(hours(31))], DAILY, same).state == "missed"


# --- text ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("age", "text"),
    [
        (datetime.timedelta(seconds=59), "59s"),
        (datetime.timedelta(seconds=61), "1m"),
        (hours(27) + datetime.timedelta(minutes=59, seconds=59), "27h 59m"),
        (hours(28), "28h"),
        (hours(71), "71h"),
        (datetime.timedelta(days=3), "3d"),
        (datetime.timedelta(days=15, hours=4, minutes=9), "15d 4h"),
        (-hours(2), "-2h"),
    ],
)
def test_format_age(age: datetime.timedelta, text: str) -> None:
    assert health.format_age(age) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536 * 1024**2, "1.5 GiB"),
        (5 * 1024**6, "5120.0 PiB"),
    ],
)
def test_format_size(size: int, text: str) -> None:
    assert health.format_size(size) == text


def test_long_cells_and_values() -> None:
    row = one([image(hours(30), size=GIB), image(hours(1), marked=False)])
    assert health_columns.long_cells(row) == (
        SERVER,
        "db",
        "Daily",
        None,
        3,
        "2025-01-09 06:00",
        "30h",
        1,
        0,
        1,
        "1.0 GiB",
        "late",
    )
    assert dict(
        zip(
            health_columns.LONG_KEYS,
            health_columns.long_values(row),
            strict=True,
        )
    ) == {
        "server_id": SERVER,
        "server_name": "db",
        "type": "daily",
        "day_of_week": None,
        "retention": 3,
        "last_image_id": "i-1",
        "last_image_created": "2025-01-09T06:00:00Z",
        "age_hours": 30.0,
        "counted": 1,
        "failed": 0,
        "kept": 1,
        "size_bytes": GIB,
        "state": "late",
        "reason": "newest image Daily-db-i-1, 30h old (daily warning "
        "after 28h)",
    }


def test_long_values_of_a_server_without_schedule_or_images() -> None:
    row = one([], schedule=None)
    assert health_columns.long_values(row) == (
        SERVER,
        "db",
        None,
        None,
        None,
        None,
        None,
        None,
        0,
        0,
        0,
        0,
        "unscheduled",
        "no image schedule",
    )
    assert health_columns.long_cells(row)[2:7] == (None,) * 5


# --- properties ---------------------------------------------------------

statuses = st.sampled_from(
    ["active", "ACTIVE", "killed", "error", "queued", "deleted", "saving", ""]
)
images_strategy = st.lists(
    st.builds(
        image,
        ages,
        status=statuses,
        marked=st.booleans(),
        size=st.one_of(st.none(), st.integers(0, 10 * GIB)),
    ),
    max_size=12,
)


@FAST
@given(images_strategy, schedules)
def test_state_is_always_one_of_the_six(
    images: list[dict[str, Any]], schedule: domain.Schedule
) -> None:
    row = one(images, schedule)
    assert row.state in health.STATES
    assert row.reason
    assert row.counted + row.failed + (row.kept or 0) <= len(images)
    if row.state in ("ok", "failed-images"):
        assert row.last is not None
    if row.state == "no-images":
        assert row.last is None


@FAST
@given(ages, ages, schedules)
def test_an_older_newest_image_is_never_healthier(
    first: datetime.timedelta,
    second: datetime.timedelta,
    schedule: domain.Schedule,
) -> None:
    younger, older = sorted([first, second])
    rank = {"ok": 0, "late": 1, "missed": 2}
    assert (
        rank[one([image(younger)], schedule).state or ""]
        <= rank[one([image(older)], schedule).state or ""]
    )


@FAST
@given(images_strategy, schedules)
def test_the_order_of_images_does_not_matter(
    images: list[dict[str, Any]], schedule: domain.Schedule
) -> None:
    assert one(images, schedule) == one(list(reversed(images)), schedule)


# --- 1.2.0: never a false ok ----------------------------------------------


def test_image_dated_more_than_an_hour_ahead_is_clock_skew() -> None:
    row = one([image(-hours(5 * 24), image_id="ahead"), image(hours(3))])
    assert row.state == "clock-skew"
    assert row.reason == (
        "image Daily-db-ahead is dated 5d after now (2025-01-10T12:00:00Z); "
        "SCHEDULED_IMAGES_NOW is not set: check this machine's clock"
    )


def test_clock_skew_says_when_scheduled_images_now_set_it() -> None:
    server = domain.ServerSchedule(SERVER, "db", DAILY)
    tally = health.FleetTally([server], NOW, now_override="2025-01-10T12Z")
    tally.add([image(-hours(2), image_id="ahead")])
    (row,) = tally.rows(health.Thresholds())
    assert (row.state, row.reason) == (
        "clock-skew",
        "image Daily-db-ahead is dated 2h after now (2025-01-10T12:00:00Z); "
        "SCHEDULED_IMAGES_NOW is set to 2025-01-10T12Z",
    )


@pytest.mark.parametrize(
    ("ahead", "state"),
    [
        (hours(1), "ok"),
        (hours(1) + datetime.timedelta(seconds=1), "clock-skew"),
    ],
)
def test_clock_skew_starts_after_one_hour(
    ahead: datetime.timedelta, state: str
) -> None:
    assert one([image(-ahead)]).state == state


def test_failed_images_older_than_critical_without_active_is_missed() -> None:
    failed = [
        image(hours(24 * n + 5), status="killed", image_id=f"k{n}")
        for n in range(5)
    ]
    row = one(failed)
    assert (row.state, row.reason) == (
        "missed",
        "no ACTIVE image; 5 failed since 2025-01-06 07:00 UTC "
        "(daily critical after 52h)",
    )


def test_failed_images_past_warning_only_is_late() -> None:
    row = one([image(hours(30), status="error")])
    assert (row.state, row.reason) == (
        "late",
        "no ACTIVE image; 1 failed since 2025-01-09 06:00 UTC "
        "(daily warning after 28h)",
    )


def test_no_images_says_yet_only_without_failures() -> None:
    assert one([]).reason == "no ACTIVE scheduled image yet"
    # An image still being taken is no evidence of an older schedule.
    taking = one([image(hours(1), status="saving")])
    assert taking.reason == "no ACTIVE scheduled image yet"


def test_kept_image_of_the_service_counts_for_freshness() -> None:
    kept = image(hours(20), marked=False, image_id="k")
    kept["scheduled_images_kept"] = "scheduled_images_service"
    row = one([kept, image(hours(40))])
    assert (row.state, row.reason) == (
        "ok",
        "newest image Daily-db-k (kept), 20h old",
    )
    assert row.last is not None and row.last.kept
    # Still not counted against the retention: the service ignores it.
    assert (row.counted, row.kept) == (1, 1)


@pytest.mark.parametrize(
    ("name", "fresh"),
    [
        ("Daily-db-1736430000", True),
        ("weekly-DB-1736430000", False),  # the server name is exact
        ("WEEKLY-db-1736430000", True),  # the prefix in any case
        ("Daily-db-copy", False),
        ("my-db-backup", False),
    ],
)
def test_image_kept_before_1_2_0_is_recognised_by_its_name(
    name: str, fresh: bool
) -> None:
    kept = dict(image(hours(20), marked=False), name=name)
    row = one([kept, image(hours(40))])
    assert row.state == ("ok" if fresh else "late")


def test_kept_name_of_another_server_does_not_count() -> None:
    kept = dict(image(hours(1), marked=False, server=OTHER), name="Daily-db-1")
    assert one([kept]).state == "no-images"


def test_kept_image_not_active_does_not_count() -> None:
    kept = image(hours(1), marked=False, status="killed")
    kept["scheduled_images_kept"] = "scheduled_images_service"
    assert one([kept]).state == "no-images"


# --- wording ---------------------------------------------------------------


def test_an_age_just_past_the_limit_reads_differently() -> None:
    row = one([image(hours(28) + datetime.timedelta(seconds=1))])
    assert row.reason == (
        "newest image Daily-db-i-1, 28h 0m 1s old (daily warning after 28h)"
    )


def test_a_limit_under_a_minute_reads_in_seconds() -> None:
    strict = health.Thresholds(
        daily_warning=datetime.timedelta(seconds=3.6),
        daily_critical=datetime.timedelta(seconds=30),
    )
    row = one([image(datetime.timedelta(seconds=10))], DAILY, strict)
    assert row.reason == (
        "newest image Daily-db-i-1, 10s old (daily warning after 3s)"
    )


@pytest.mark.parametrize(
    ("age", "limit", "text"),
    [
        (hours(30), hours(28), "30h"),
        (hours(28) + datetime.timedelta(seconds=1), hours(28), "28h 0m 1s"),
        (
            datetime.timedelta(days=8, seconds=5),
            datetime.timedelta(days=8),
            "8d 0h 0m 5s",
        ),
        (
            hours(28) + datetime.timedelta(microseconds=5),
            hours(28),
            "more than 28h",
        ),
    ],
)
def test_format_beyond(
    age: datetime.timedelta, limit: datetime.timedelta, text: str
) -> None:
    assert health.format_beyond(age, limit) == text
