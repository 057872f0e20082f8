"""What the commands take as "now"."""

from __future__ import annotations

import datetime

import pytest

from rax_scheduled_images_python_novaclient_ext import clock
from rax_scheduled_images_python_novaclient_ext import schedule as s

UTC = datetime.timezone.utc


def test_now_is_the_real_time_without_the_variable():
    before = datetime.datetime.now(UTC)
    found = clock.now({})
    assert before <= found <= datetime.datetime.now(UTC)
    assert found.tzinfo is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2026-12-01T12:00:00Z",
            datetime.datetime(2026, 12, 1, 12, tzinfo=UTC),
        ),
        # Another zone is turned into UTC; no zone means UTC.
        (
            "2026-12-01T13:30:00+01:30",
            datetime.datetime(2026, 12, 1, 12, tzinfo=UTC),
        ),
        (
            "2026-12-01T12:00:00",
            datetime.datetime(2026, 12, 1, 12, tzinfo=UTC),
        ),
    ],
)
def test_now_from_the_variable(text, expected):
    found = clock.now({"SCHEDULED_IMAGES_NOW": text})
    assert found == expected
    assert found.utcoffset() == datetime.timedelta(0)


def test_now_refuses_a_value_that_is_no_time():
    with pytest.raises(s.ScheduleError, match="Invalid SCHEDULED_IMAGES_NOW"):
        clock.now({"SCHEDULED_IMAGES_NOW": "yesterday"})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2026-11-01T03:04:05Z",
            datetime.datetime(2026, 11, 1, 3, 4, 5, tzinfo=UTC),
        ),
        (
            "2026-11-01T03:04:05.123456Z",
            datetime.datetime(2026, 11, 1, 3, 4, 5, 123456, tzinfo=UTC),
        ),
        (
            "2026-11-01T03:04:05",
            datetime.datetime(2026, 11, 1, 3, 4, 5, tzinfo=UTC),
        ),
        (
            "2026-11-01T05:04:05+02:00",
            datetime.datetime(2026, 11, 1, 3, 4, 5, tzinfo=UTC),
        ),
        # Any number of fraction digits (Python 3.10 takes only 3 or 6).
        (
            "2026-11-01T03:04:05.5Z",
            datetime.datetime(2026, 11, 1, 3, 4, 5, 500000, tzinfo=UTC),
        ),
        (
            "2026-11-01T03:04:05.123456789Z",
            datetime.datetime(2026, 11, 1, 3, 4, 5, 123456, tzinfo=UTC),
        ),
        ("", None),
        ("not a time", None),
        (None, None),
        (1700000000, None),
    ],
)
def test_parse_timestamp(text, expected):
    assert s.parse_timestamp(text) == expected
