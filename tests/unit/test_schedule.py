"""The pure domain: parsing, formatting, merging, and the prune plan."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rax_scheduled_images_python_novaclient_ext import schedule as s

SERVER = "24ade2fe-60d9-4d3e-a02c-c9a6a1b588a6"
OTHER = "0d5e4b1a-1111-4f2b-9c1e-7f0a2b3c4d5e"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (1, 1),
        (7, 7),
        ("31", 31),
        (" 8 ", 8),
        ("007", 7),
        (65535, 65535),
        (10**30, 10**30),
    ],
)
def test_parse_retention_accepts_positive_integers(given, expected):
    assert s.parse_retention(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        0,
        -1,
        "0",
        "-1",
        "+3",
        "1.5",
        1.5,
        7.0,
        "",
        " ",
        "abc",
        "٣",
        "7a",
        True,
        False,
        None,
        [7],
        "1e3",
        "0x10",
    ],
)
def test_parse_retention_rejects_everything_else(given):
    with pytest.raises(s.ScheduleError, match="positive integer"):
        s.parse_retention(given)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("saturday", "SATURDAY"),
        ("SATURDAY", "SATURDAY"),
        ("Sunday", "SUNDAY"),
        ("mon", "MONDAY"),
        ("WED", "WEDNESDAY"),
        (" friday ", "FRIDAY"),
        (None, None),
    ],
)
def test_parse_day_accepts_names_and_abbreviations(given, expected):
    assert s.parse_day_of_week(given) == expected


@pytest.mark.parametrize(
    "given", ["", "satur", "sa", "1", "6", "saturdays", "noday", "sábado"]
)
def test_parse_day_rejects_and_lists_valid_days(given):
    with pytest.raises(s.ScheduleError) as raised:
        s.parse_day_of_week(given)
    assert (
        "sunday, monday, tuesday, wednesday, thursday, friday, "
        "saturday" in str(raised.value)
    )


def test_schedule_body_weekly_and_daily():
    assert s.new_schedule("4", "saturday").to_body() == {
        "image_schedule": {"retention": 4, "day_of_week": "SATURDAY"}
    }
    assert s.new_schedule(7).to_body() == {"image_schedule": {"retention": 7}}


def test_format_schedule_matches_the_guide():
    assert s.format_schedule(s.Schedule(8, "SATURDAY")) == (
        "Schedule type: Weekly on: SATURDAY\nRetention: 8"
    )
    assert s.format_schedule(s.Schedule(31)) == (
        "Schedule type: Daily\nRetention: 31"
    )


def test_schedule_from_api_reads_both_shapes():
    assert s.schedule_from_api(
        {"image_schedule": {"retention": 5, "day_of_week": "saturday"}}
    ) == s.Schedule(5, "SATURDAY")
    assert s.schedule_from_api({"retention": 3}) == s.Schedule(3)


@pytest.mark.parametrize(
    ("payload", "names"),
    [
        (None, "no image_schedule object"),
        ("<html>oops</html>", "no image_schedule object"),
        ({"image_schedule": None}, "no image_schedule object"),
        ({"image_schedule": {}}, "no valid retention"),
        ({"image_schedule": {"retention": "7"}}, "no valid retention"),
        ({"image_schedule": {"retention": True}}, "no valid retention"),
        (
            {"image_schedule": {"retention": 2, "day_of_week": 5}},
            "invalid day_of_week",
        ),
        (
            {"image_schedule": {"retention": 2, "day_of_week": "someday"}},
            "invalid day_of_week",
        ),
    ],
)
def test_schedule_from_api_names_what_is_malformed(payload, names):
    with pytest.raises(s.MalformedResponseError, match=names):
        s.schedule_from_api(payload)


def test_merge_keeps_day_when_only_retention_changes():
    assert s.merge_schedule(s.Schedule(4, "SATURDAY"), retention=8) == (
        s.Schedule(8, "SATURDAY")
    )


def test_merge_keeps_retention_when_only_day_changes():
    assert s.merge_schedule(s.Schedule(4), day_of_week="sun") == (
        s.Schedule(4, "SUNDAY")
    )


def test_merge_daily_drops_the_day():
    assert s.merge_schedule(s.Schedule(4, "MONDAY"), daily=True) == (
        s.Schedule(4)
    )


def test_merge_needs_retention_without_a_schedule():
    with pytest.raises(s.ScheduleError, match="retention is required"):
        s.merge_schedule(None, day_of_week="mon")


def test_merge_refuses_day_and_daily_together():
    with pytest.raises(s.ScheduleError, match="not both"):
        s.merge_schedule(s.Schedule(4), day_of_week="mon", daily=True)


def image(id_, day, *, marked=True, server=SERVER, status="active"):
    img = {
        "id": id_,
        "status": status,
        "instance_uuid": server,
        "created_at": f"2026-11-{day:02d}T03:04:05Z",
    }
    if marked:
        img[s.CREATED_BY_KEY] = s.CREATED_BY_VALUE
    return img


def test_plan_prune_keeps_newest_retention_minus_one():
    images = [image(f"i{d}", d) for d in (1, 5, 3, 4, 2)]
    # retention 3: the next image plus the two newest survive.
    assert s.plan_prune(images, SERVER, 3) == {"i1", "i2", "i3"}


def test_plan_prune_ignores_unmarked_other_servers_and_inactive():
    images = [
        image("old-kept", 1, marked=False),
        image("other", 2, server=OTHER),
        image("saving", 3, status="saving"),
        image("a", 4),
        image("b", 5),
    ]
    assert s.plan_prune(images, SERVER, 2) == {"a"}
    assert s.plan_prune(images, SERVER, 1) == {"a", "b"}


def test_plan_prune_without_schedule_deletes_nothing():
    images = [image(f"i{d}", d) for d in range(1, 6)]
    assert s.plan_prune(images, SERVER, None) == frozenset()
    assert s.plan_prune(images, SERVER, 0) == frozenset()


def test_plan_prune_under_retention_deletes_nothing():
    images = [image("a", 1), image("b", 2)]
    assert s.plan_prune(images, SERVER, 3) == frozenset()


def test_sort_oldest_first():
    images = [image("b", 2), image("c", 3), image("a", 1)]
    assert [i["id"] for i in s.sort_oldest_first(images)] == ["a", "b", "c"]


# --- image rows, the release plan, server schedules ------------------------


def named(id_, day, **kwargs):
    img = image(id_, day, **kwargs)
    img["name"] = f"Daily-myserver-{day}"
    return img


def test_image_rows_oldest_first_with_counted_and_forecast():
    images = [
        named("c", 3),
        named("a", 1),
        named("kept", 2, marked=False),
        named("d", 4),
    ]
    rows = s.image_rows(images, SERVER, 2)
    assert [r.cells() for r in rows] == [
        (
            "a",
            "Daily-myserver-1",
            "2026-11-01T03:04:05Z",
            "active",
            "yes",
            "yes",
        ),
        (
            "kept",
            "Daily-myserver-2",
            "2026-11-02T03:04:05Z",
            "active",
            "no",
            "no",
        ),
        (
            "c",
            "Daily-myserver-3",
            "2026-11-03T03:04:05Z",
            "active",
            "yes",
            "yes",
        ),
        (
            "d",
            "Daily-myserver-4",
            "2026-11-04T03:04:05Z",
            "active",
            "yes",
            "no",
        ),
    ]


def test_image_rows_leave_out_other_servers_images():
    rows = s.image_rows(
        [named("a", 1), named("x", 2, server=OTHER)], SERVER, 1
    )
    assert [r.id for r in rows] == ["a"]


def test_image_rows_without_schedule_forecast_no_deletion():
    rows = s.image_rows([named(f"i{d}", d) for d in (1, 2, 3)], SERVER, None)
    assert [r.counted for r in rows] == [True, True, True]
    assert [r.deleted_at_next_run for r in rows] == [False, False, False]


@pytest.mark.parametrize(
    ("status", "marked", "shown"),
    [
        ("active", True, "yes"),
        ("ACTIVE", True, "yes"),
        ("queued", True, "in progress"),
        ("saving", True, "in progress"),
        ("killed", True, "failed"),
        ("deleted", True, "failed"),
        ("pending_delete", True, "failed"),
        ("error", True, "failed"),
        ("active", False, "no"),
        ("killed", False, "no"),
    ],
)
def test_image_rows_count_only_what_the_service_counts(status, marked, shown):
    # The service counts marked AND active images (api.md): 1.1.0 said
    # "yes" for every marked image, killed or saving ones included.
    rows = s.image_rows(
        [named("old", 1), named("x", 2, status=status, marked=marked)],
        SERVER,
        1,
    )
    assert rows[1].cells()[4] == shown
    assert rows[1].count_state == shown
    assert rows[1].counted is (shown == "yes")
    assert rows[1].deleted_at_next_run is (shown == "yes")
    assert (rows[0].counted, rows[0].deleted_at_next_run) == (True, True)


def test_image_rows_empty():
    assert s.image_rows([], SERVER, 3) == []


def test_plan_release_counts_the_released_images():
    images = [
        named("first-of-month", 1, marked=False),
        named("b", 2),
        named("c", 3),
    ]
    # Kept, the old image is safe; released, it is the oldest counted one.
    assert s.plan_prune(images, SERVER, 2) == {"b"}
    assert s.plan_release(images, SERVER, 2, {"first-of-month"}) == {
        "first-of-month",
        "b",
    }


def test_plan_release_of_a_marked_image_or_unknown_id_changes_nothing():
    images = [named("a", 1), named("b", 2)]
    assert s.plan_release(images, SERVER, 1, {"a", "nosuch"}) == {"a", "b"}
    assert s.plan_release(images, SERVER, 5, ["a"]) == frozenset()


def test_plan_release_without_schedule_deletes_nothing():
    images = [named("a", 1, marked=False)]
    assert s.plan_release(images, SERVER, None, {"a"}) == frozenset()


def test_plan_release_does_not_change_the_images_given():
    images = [named("a", 1, marked=False)]
    s.plan_release(images, SERVER, 1, {"a"})
    assert s.CREATED_BY_KEY not in images[0]


def test_check_releasable_returns_the_server_or_refuses():
    assert s.check_releasable(named("a", 1)) == SERVER
    orphan = {"id": "o1", "name": "upload"}
    with pytest.raises(s.ScheduleError, match="Image o1 belongs to no server"):
        s.check_releasable(orphan)
    with pytest.raises(s.ScheduleError):
        s.check_releasable({"id": "o2", "instance_uuid": ""})


def test_server_schedule_cells():
    weekly = s.ServerSchedule(SERVER, "web", s.Schedule(4, "SATURDAY"))
    daily = s.ServerSchedule(OTHER, "db", s.Schedule(7))
    none = s.ServerSchedule(OTHER, "tmp", None)
    assert weekly.cells() == (SERVER, "web", "Weekly", "SATURDAY", 4)
    # A missing value is None, never "": one type per column.
    assert daily.cells() == (OTHER, "db", "Daily", None, 7)
    assert none.cells() == (OTHER, "tmp", None, None, None)


def test_schedule_from_attribute():
    assert s.schedule_from_attribute(None) is None
    assert s.schedule_from_attribute({}) is None
    assert s.schedule_from_attribute({"retention": 3}) == s.Schedule(3)
    with pytest.raises(s.MalformedResponseError):
        s.schedule_from_attribute({"day_of_week": "SATURDAY"})


def test_server_schedule_list_is_a_list_with_a_flag():
    rows = s.ServerScheduleList([s.ServerSchedule(SERVER, "web", None)])
    assert rows == [s.ServerSchedule(SERVER, "web", None)]
    assert rows.used_fallback is False
    assert s.ServerScheduleList(used_fallback=True).used_fallback is True


def test_yes_no():
    assert (s.yes_no(True), s.yes_no(False)) == ("yes", "no")


_days = st.lists(
    st.tuples(st.integers(1, 28), st.booleans()),
    max_size=12,
    unique_by=lambda t: t[0],
)


@given(days=_days, retention=st.integers(1, 6), data=st.data())
def test_plan_release_only_adds_deletions(days, retention, data):
    images = [named(f"i{d}", d, marked=m) for d, m in days]
    ids = [img["id"] for img in images]
    releasing = data.draw(
        st.sets(st.sampled_from(ids)) if ids else st.just(set())
    )
    before = s.plan_prune(images, SERVER, retention)
    after = s.plan_release(images, SERVER, retention, releasing)
    assert before <= after
    counted = sum(1 for d, m in days if m or f"i{d}" in releasing)
    assert len(after) == max(0, counted - (retention - 1))
    assert s.plan_release(images, SERVER, retention, ()) == before
