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

# Values a user may type or a cloud may answer. Keys and texts are drawn
# from the names that matter too, not only at random: random text of a few
# characters never spells "retention" or "saturday", and a property whose
# interesting branch is never drawn proves nothing.
DAY_TEXTS = st.sampled_from(domain.DAYS).flatmap(
    lambda d: st.sampled_from([d, d.lower(), d[:3], d.title(), f" {d} "])
)
DIGIT_TEXTS = st.from_regex(r"\s?-?[0-9\u0663]{1,4}\s?", fullmatch=True)
KEYS = st.sampled_from(["retention", "day_of_week", "image_schedule"]) | (
    st.text(max_size=8)
)
anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(-2, 2)
    | st.floats(allow_nan=True)
    | st.text(max_size=20)
    | DAY_TEXTS
    | DIGIT_TEXTS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=4)
    ),
    max_leaves=10,
)
# A schedule answer: the inner object, wrapped or not, often well formed.
schedule_inner = st.fixed_dictionaries(
    {},
    optional={
        "retention": st.integers(-2, 2) | st.integers(-3, 70_000) | anything,
        "day_of_week": st.none() | DAY_TEXTS | anything,
    },
)
schedule_answers = (
    schedule_inner
    | st.builds(lambda inner: {"image_schedule": inner}, schedule_inner)
    | anything
)

SERVER = "srv-1"
OTHER = "srv-2"


def _typed_day(value: Any) -> str | None:
    """The API day a text names by the documented rule, else None."""
    if not isinstance(value, str):
        return None
    wanted = value.strip().lower()
    for day in domain.DAYS:
        if wanted in (day.lower(), day[:3].lower()):
            return day
    return None


def _typed_retention(value: Any) -> int | None:
    """The retention a value means by the documented rule, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 1 else None
    text = value.strip() if isinstance(value, str) else ""
    if text.isascii() and text.isdigit() and int(text) >= 1:
        return int(text)
    return None


@FAST
@given(anything)
def test_parse_retention_accepts_exactly_positive_whole_numbers(
    value: Any,
) -> None:
    expected = _typed_retention(value)
    try:
        found = domain.parse_retention(value)
    except domain.ScheduleError:
        assert expected is None
        return
    assert found == expected


@FAST
@given(anything)
def test_parse_day_of_week_accepts_exactly_day_names(value: Any) -> None:
    try:
        found = domain.parse_day_of_week(value)
    except domain.ScheduleError:
        assert value is not None and _typed_day(value) is None
        return
    assert found == (None if value is None else _typed_day(value))


@FAST
@given(anything, anything)
def test_new_schedule_raises_only_schedule_error(
    retention: Any, day: Any
) -> None:
    # Only ScheduleError: a MalformedResponseError here would be a bug.
    try:
        found = domain.new_schedule(retention, day)
    except domain.ScheduleError:
        assert _typed_retention(retention) is None or (
            day is not None and _typed_day(day) is None
        )
        return
    assert found.retention == _typed_retention(retention)
    assert found.day_of_week == (None if day is None else _typed_day(day))


def _inner(payload: Any) -> Any:
    if isinstance(payload, dict) and "image_schedule" in payload:
        return payload["image_schedule"]
    return payload


def _answer_day(inner: dict[str, Any]) -> str | None:
    """The day a cloud's answer names (any case, full or three letters,
    no spaces around), None for daily, "invalid" for anything else."""
    day = inner.get("day_of_week")
    if day is None:
        return None
    if not isinstance(day, str) or day != day.strip():
        return "invalid"
    return _typed_day(day) or "invalid"


@FAST
@given(schedule_answers)
def test_schedule_from_api_raises_only_malformed(payload: Any) -> None:
    inner = _inner(payload)
    retention = inner.get("retention") if isinstance(inner, dict) else None
    well_formed = (
        isinstance(inner, dict)
        and isinstance(retention, int)
        and not isinstance(retention, bool)
        and retention >= 0
    )
    try:
        found = domain.schedule_from_api(payload)
    except domain.MalformedResponseError:
        # Refused only what is not a schedule: no dict, no valid
        # retention, or a day that is no day.
        assert not well_formed or _answer_day(inner) == "invalid"
        return
    assert well_formed
    assert found.retention == retention
    assert found.day_of_week == _answer_day(inner)


@FAST
@given(
    st.one_of(
        st.none(),
        st.builds(
            domain.Schedule,
            st.integers(1, 99),
            st.none() | st.sampled_from(domain.DAYS),
        ),
    ),
    st.none() | anything,
    st.none() | anything,
    st.booleans(),
)
def test_merge_schedule_raises_only_schedule_error(
    current: Any, retention: Any, day: Any, daily: bool
) -> None:
    try:
        found = domain.merge_schedule(current, retention, day, daily)
    except domain.ScheduleError:
        return
    # What is given wins; what is not given is carried over.
    if retention is None:
        assert current is not None and found.retention == current.retention
    else:
        assert found.retention == _typed_retention(retention)
    if daily:
        assert found.day_of_week is None
    elif day is not None:
        assert found.day_of_week == _typed_day(day)
    else:
        assert found.day_of_week == (current and current.day_of_week)


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
@given(st.integers(1, 10**6).map(str), DAY_TEXTS)
def test_typed_input_round_trips(retention: str, day: str) -> None:
    wanted = domain.new_schedule(retention, day)
    assert wanted.retention == int(retention)
    assert domain.schedule_from_api(wanted.to_body()) == wanted


BASE = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)

# Small retentions most often, so that some images are doomed and some
# kept, which is where the order matters.
RETENTIONS = st.none() | st.integers(-2, 4) | st.integers(5, 30)
# Creation times: mostly minutes after BASE (few enough values that equal
# times are common), sometimes missing or unreadable, which count as the
# oldest (see plan_prune).
UNREADABLE_TIMES = ("", "not a time", None)
image_strategy = st.fixed_dictionaries(
    {
        "minutes": st.integers(0, 3)
        | st.integers(0, 10_000)
        | st.sampled_from(UNREADABLE_TIMES),
        "marked": st.booleans(),
        "other_value": st.booleans(),
        "server": st.sampled_from([SERVER, SERVER, SERVER, OTHER, None]),
        "status": st.sampled_from(
            ["active", "active", "ACTIVE", "queued", "killed"]
        ),
    }
)


def _images(specs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for number, spec in enumerate(specs):
        image: dict[str, Any] = {
            "id": f"img-{number:03d}",
            "status": spec["status"],
        }
        minutes = spec["minutes"]
        if isinstance(minutes, int):
            created = BASE + datetime.timedelta(minutes=minutes)
            image["created_at"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
        elif minutes is not None:
            image["created_at"] = minutes
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
    # Always the oldest, by time then id: nothing kept is older than
    # anything doomed, and an unreadable time is the oldest of all.
    kept = [i for i in counted if i["id"] not in doomed]
    if doomed and kept:
        newest_doomed = max(_age(by_id[i]) for i in doomed)
        oldest_kept = min(_age(i) for i in kept)
        assert newest_doomed < oldest_kept


def _age(image: dict[str, Any]) -> tuple[datetime.datetime, str]:
    text = image.get("created_at")
    if text in UNREADABLE_TIMES:
        return (datetime.datetime.min.replace(tzinfo=BASE.tzinfo), image["id"])
    when = datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    return (when.replace(tzinfo=BASE.tzinfo), image["id"])


@FAST
@given(
    st.lists(image_strategy, max_size=25),
    RETENTIONS,
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
    RETENTIONS,
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
