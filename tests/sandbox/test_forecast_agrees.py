"""The client's prune forecast and the sandbox's scheduler pick the same.

The sandbox is the client's independent oracle: it implements the
service's rule on its own (it imports nothing of the client). Here both
are given the same images, including equal creation times, times with
offsets (whose text order is not their time order), and times that are
missing or cannot be read, which both count as the oldest.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.sandbox import scheduler
from rax_scheduled_images_python_novaclient_ext.sandbox.model import Image

SERVER = "s-1"
PROJECT = "p-1"
TIMES = (
    "2025-01-01T03:17:00Z",
    "2025-01-01T03:17:00Z",  # drawn twice as often: equal times
    "2025-01-02T03:17:00Z",
    "2025-01-02T01:00:00+02:00",  # 2025-01-01T23:00Z, later in text
    "2024-12-31T23:59:59Z",
    "",
    "not a time",
    "0001-01-01T00:00:00+01:00",  # before the year 1 in UTC
)

image_spec = st.fixed_dictionaries(
    {
        "id": st.text("abcdef0123", min_size=1, max_size=4),
        "created_at": st.sampled_from(TIMES),
        "status": st.sampled_from(["active", "queued"]),
        "marked": st.booleans(),
        "server": st.sampled_from([SERVER, SERVER, "s-2"]),
    }
)


def _as_client_sees(spec: dict[str, Any]) -> dict[str, Any]:
    image = {
        "id": spec["id"],
        "created_at": spec["created_at"],
        "status": spec["status"],
        domain.INSTANCE_KEY: spec["server"],
    }
    if spec["marked"]:
        image[domain.CREATED_BY_KEY] = domain.CREATED_BY_VALUE
    return image


def _as_sandbox_holds(spec: dict[str, Any]) -> Image:
    properties = {"instance_uuid": spec["server"]}
    if spec["marked"]:
        properties[domain.CREATED_BY_KEY] = domain.CREATED_BY_VALUE
    return Image(
        id=spec["id"],
        name=f"Daily-x-{spec['id']}",
        owner=PROJECT,
        created_at=spec["created_at"],
        updated_at=spec["created_at"],
        status=spec["status"],
        properties=properties,
    )


@settings(max_examples=300, deadline=None)
@given(
    st.lists(image_spec, max_size=12, unique_by=lambda s: s["id"]),
    st.integers(0, 8),
    st.randoms(use_true_random=False),
)
def test_client_forecast_is_what_the_sandbox_prunes(
    specs: list[dict[str, Any]], retention: int, shuffler: Any
) -> None:
    # The service deletes after its next image: the client forecasts with
    # the retention, the scheduler prunes the day's images with it, the
    # new image included; here the new one is given to the scheduler as
    # the newest counted image, which survives.
    newest = {
        "id": "zzzzz",
        "created_at": "2026-01-01T00:00:00Z",
        "status": "active",
        "marked": True,
        "server": SERVER,
    }
    pruned = scheduler.plan_prune(
        [_as_sandbox_holds(s) for s in [*specs, newest]],
        SERVER,
        PROJECT,
        retention,
    )
    listed = [_as_client_sees(s) for s in specs]
    shuffler.shuffle(listed)  # whatever order the Image API lists them in
    forecast = domain.plan_prune(listed, SERVER, retention)
    assert forecast == frozenset(pruned)


def test_an_image_without_a_readable_time_is_forecast_deleted_first() -> None:
    images = [
        {"id": "new", "created_at": "2025-01-03T00:00:00Z"},
        {"id": "blank", "created_at": ""},
        {"id": "old", "created_at": "2025-01-01T00:00:00Z"},
        {"id": "none"},
        {"id": "garbage", "created_at": "yesterday"},
    ]
    for image in images:
        image.update(
            status="active",
            **{
                domain.INSTANCE_KEY: SERVER,
                domain.CREATED_BY_KEY: domain.CREATED_BY_VALUE,
            },
        )
    # Newest first: new, old, then the three without a readable time,
    # which count as the oldest; among those equal times, by id, as
    # Glance orders (the greatest id is the "newest"). The next image and
    # the newest retention - 1 survive.
    assert domain.plan_prune(images, SERVER, 2) == {
        "old",
        "none",
        "garbage",
        "blank",
    }
    assert domain.plan_prune(images, SERVER, 3) == {"none", "garbage", "blank"}
    assert domain.plan_prune(images, SERVER, 4) == {"garbage", "blank"}
    assert domain.plan_prune(images, SERVER, 5) == {"blank"}
    rows = domain.image_rows(images, SERVER, 5)
    assert [row.id for row in rows] == [
        "blank",
        "garbage",
        "none",
        "old",
        "new",
    ]
