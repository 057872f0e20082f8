"""Property-based tests of the pure domain (schedule.py), with hypothesis.

Whatever a user types or a cloud answers, the domain raises only its own
errors; a schedule survives a round trip through its request body; and
the prune and release forecasts obey the service's rule.
"""

from __future__ import annotations

import datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rax_scheduled_images_python_novaclient_ext import schedule as domain

FAST = settings(max_examples=150, deadline=None)

anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
OWN_ERRORS = (domain.ScheduleError, domain.MalformedResponseError)

SERVER = "srv-1"
OTHER = "srv-2"


def _raises_only_own(call: Any, *args: Any) -> None:
    try:
        call(*args)
    except OWN_ERRORS:
        pass


@FAST
@given(anything)
def test_parse_retention_raises_only_schedule_error(value: Any) -> None:
    try:
        found = domain.parse_retention(value)
    except domain.ScheduleError:
        return
    assert isinstance(found, int) and not isinstance(found, bool)
    assert found >= 1


@FAST
@given(anything)
def test_parse_day_of_week_raises_only_schedule_error(value: Any) -> None:
    try:
        found = domain.parse_day_of_week(value)
    except domain.ScheduleError:
        return
    assert found is None or found in domain.DAYS


@FAST
@given(anything, anything)
def test_new_schedule_raises_only_schedule_error(
    retention: Any, day: Any
) -> None:
    _raises_only_own(domain.new_schedule, retention, day)


@FAST
@given(anything)
def test_schedule_from_api_raises_only_malformed(payload: Any) -> None:
    try:
        found = domain.schedule_from_api(payload)
    except domain.MalformedResponseError:
        return
    assert isinstance(found.retention, int) and found.retention >= 0
    assert found.day_of_week is None or found.day_of_week in domain.DAYS


@FAST
@given(
    st.one_of(st.none(), st.builds(domain.Schedule, st.integers(1, 99))),
    anything,
    anything,
    st.booleans(),
)
def test_merge_schedule_raises_only_schedule_error(
    current: Any, retention: Any, day: Any, daily: bool
) -> None:
    try:
        found = domain.merge_schedule(current, retention, day, daily)
    except domain.ScheduleError:
        return
    assert found.retention >= 1
    if daily:
        assert found.day_of_week is None


@FAST
@given(
    st.integers(1, 10**30),
    st.one_of(st.none(), st.sampled_from(domain.DAYS)),
)
def test_body_round_trip(retention: int, day: str | None) -> None:
    wanted = domain.Schedule(retention, day)
    assert domain.schedule_from_api(wanted.to_body()) == wanted
    inner = wanted.to_body()["image_schedule"]
    assert domain.schedule_from_api(inner) == wanted


@FAST
@given(
    st.integers(1, 10**6).map(str),
    st.sampled_from(domain.DAYS).flatmap(
        lambda d: st.sampled_from([d, d.lower(), d[:3], d.title(), f" {d} "])
    ),
)
def test_typed_input_round_trips(retention: str, day: str) -> None:
    wanted = domain.new_schedule(retention, day)
    assert wanted.retention == int(retention)
    assert domain.schedule_from_api(wanted.to_body()) == wanted


BASE = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)

image_strategy = st.fixed_dictionaries(
    {
        "minutes": st.integers(0, 10_000),
        "marked": st.booleans(),
        "other_value": st.booleans(),
        "server": st.sampled_from([SERVER, SERVER, OTHER, None]),
        "status": st.sampled_from(["active", "ACTIVE", "queued", "killed"]),
    }
)


def _images(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for number, spec in enumerate(specs):
        created = BASE + datetime.timedelta(minutes=spec["minutes"])
        image: dict[str, Any] = {
            "id": f"img-{number:03d}",
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": spec["status"],
        }
        if spec["server"] is not None:
            image[domain.INSTANCE_KEY] = spec["server"]
        if spec["marked"]:
            image[domain.CREATED_BY_KEY] = domain.CREATED_BY_VALUE
        elif spec["other_value"]:
            image[domain.CREATED_BY_KEY] = "someone_else"
        out.append(image)
    return out


def _counted(images: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        i
        for i in images
        if i.get(domain.CREATED_BY_KEY) == domain.CREATED_BY_VALUE
        and i.get(domain.INSTANCE_KEY) == SERVER
        and i["status"].upper() == "ACTIVE"
    ]


def _check_plan(
    images: list[dict[str, Any]], retention: int | None, doomed: frozenset
) -> None:
    counted = _counted(images)
    by_id = {i["id"]: i for i in images}
    assert doomed <= set(by_id)
    for image_id in doomed:
        image = by_id[image_id]
        assert image.get(domain.CREATED_BY_KEY) == domain.CREATED_BY_VALUE
        assert image.get(domain.INSTANCE_KEY) == SERVER
        assert image["status"].upper() == "ACTIVE"
    if not retention or retention < 1:
        assert doomed == frozenset()
        return
    assert len(doomed) == max(0, len(counted) - (retention - 1))
    # Always the oldest: nothing kept is older than anything doomed.
    kept = [i for i in counted if i["id"] not in doomed]
    if doomed and kept:
        newest_doomed = max(by_id[i]["created_at"] for i in doomed)
        oldest_kept = min(i["created_at"] for i in kept)
        assert newest_doomed <= oldest_kept


@FAST
@given(
    st.lists(image_strategy, max_size=25),
    st.one_of(st.none(), st.integers(-2, 30)),
)
def test_plan_prune_takes_only_the_oldest_counted(
    specs: list[dict[str, Any]], retention: int | None
) -> None:
    images = _images(specs)
    doomed = domain.plan_prune(images, SERVER, retention)
    _check_plan(images, retention, doomed)


@FAST
@given(
    st.lists(image_strategy, max_size=25),
    st.one_of(st.none(), st.integers(-2, 30)),
    st.data(),
)
def test_plan_release_is_the_prune_of_the_released_images(
    specs: list[dict[str, Any]], retention: int | None, data: Any
) -> None:
    images = _images(specs)
    ids = [i["id"] for i in images]
    releasing = (
        data.draw(st.lists(st.sampled_from(ids), unique=True)) if ids else []
    )
    doomed = domain.plan_release(images, SERVER, retention, releasing)
    after = [domain.mark(i) if i["id"] in releasing else i for i in images]
    _check_plan(after, retention, doomed)
    # An unmarked image that is not being released is never taken.
    for image in images:
        if image["id"] not in releasing and not domain.is_marked(image):
            assert image["id"] not in doomed
