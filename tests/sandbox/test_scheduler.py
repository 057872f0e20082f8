"""The daily job: images made on the right days, pruned by the rule."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox
from rax_scheduled_images_python_novaclient_ext.sandbox.model import Image
from rax_scheduled_images_python_novaclient_ext.sandbox.scheduler import (
    plan_prune,
)

from .conftest import ALT_APP, DB, MARK, MYSERVER, WEB_IDS, Client

SERVICE = "scheduled_images_service"


def enable(client: Client, server: str, **schedule: Any) -> None:
    answer = client.post(
        client.schedule_url(server), json={"image_schedule": schedule}
    )
    assert answer.status_code == 200, answer.text


def tick(cloud: Sandbox, days: int = 1) -> dict[str, Any]:
    answer = requests.post(f"{cloud.url}/sandbox/tick", json={"days": days})
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def marked(client: Client, server: str) -> list[dict[str, Any]]:
    return client.images(instance_uuid=server, **{MARK: SERVICE})


def add_image(cloud: Sandbox, **fields: Any) -> dict[str, Any]:
    answer = requests.post(f"{cloud.url}/sandbox/images", json=fields)
    assert answer.status_code == 201, answer.text
    result: dict[str, Any] = answer.json()
    return result


def test_daily_image_is_named_and_marked(demo: Client) -> None:
    enable(demo, MYSERVER, retention=3)
    result = tick(demo.cloud)
    assert result["days"] == ["2025-01-04T03:17:00Z"]
    assert result["clock"] == "2025-01-05T03:17:00Z"
    (image,) = marked(demo, MYSERVER)
    stamp = int(
        dt.datetime(2025, 1, 4, 3, 17, tzinfo=dt.timezone.utc).timestamp()
    )
    assert image["name"] == f"Daily-myserver-{stamp}"
    assert image["status"] == "active"
    assert image["created_at"] == "2025-01-04T03:17:00Z"
    assert image["image_type"] == "snapshot"
    assert image["id"] in result["created"]


def test_retention_keeps_the_newest(demo: Client) -> None:
    enable(demo, MYSERVER, retention=3)
    tick(demo.cloud, days=5)
    names = [i["name"] for i in marked(demo, MYSERVER)]
    assert len(names) == 3
    days = [
        int(dt.datetime(2025, 1, d, 3, 17, tzinfo=dt.timezone.utc).timestamp())
        for d in (8, 7, 6)
    ]
    assert names == [f"Daily-myserver-{s}" for s in days]


def test_unmarked_images_are_neither_counted_nor_deleted(
    demo: Client,
) -> None:
    # db: retention 3, three marked images and one unmarked.
    tick(demo.cloud, days=2)
    images = demo.images(instance_uuid=DB)
    assert len(marked(demo, DB)) == 3
    assert "db-before-upgrade" in {i["name"] for i in images}
    assert len(images) == 4


def test_exempted_image_survives(demo: Client) -> None:
    oldest = marked(demo, DB)[-1]
    demo.patch(
        f"{demo.image}/v2/images/{oldest['id']}",
        json=[{"op": "remove", "path": f"/{MARK}"}],
        headers={
            "Content-Type": "application/openstack-images-v2.1-json-patch"
        },
    )
    tick(demo.cloud, days=3)
    assert oldest["id"] in {i["id"] for i in demo.images(instance_uuid=DB)}
    assert len(marked(demo, DB)) == 3


def test_other_servers_are_untouched(demo: Client, alt: Client) -> None:
    enable(demo, WEB_IDS[0], retention=1)
    before_alt = {i["id"] for i in alt.images(instance_uuid=ALT_APP)}
    tick(demo.cloud)  # a Saturday: alt-app is weekly on Sunday
    assert len(marked(demo, WEB_IDS[0])) == 1
    assert marked(demo, WEB_IDS[1]) == []
    assert marked(demo, MYSERVER) == []
    assert {i["id"] for i in alt.images(instance_uuid=ALT_APP)} == before_alt


def test_images_not_active_are_ignored(demo: Client) -> None:
    queued = add_image(
        demo.cloud,
        server_id=DB,
        status="queued",
        created_at="2020-01-01T00:00:00Z",
    )
    tick(demo.cloud, days=2)
    ids = {i["id"] for i in demo.images(instance_uuid=DB)}
    assert queued["id"] in ids
    assert len(marked(demo, DB)) == 4  # three active + the queued one


def test_other_tenants_marked_image_of_same_server_is_ignored(
    demo: Client, alt: Client
) -> None:
    cloud = demo.cloud
    newest = marked(demo, DB)[0]["id"]
    stranger = add_image(
        cloud,
        server_id=ALT_APP,
        created_at="2020-01-01T00:00:00Z",
        properties={"instance_uuid": DB},
    )
    tick(cloud)
    assert stranger["id"] in {i["id"] for i in alt.images()}
    assert newest in {i["id"] for i in marked(demo, DB)}
    assert len(marked(demo, DB)) == 3


def test_weekly_only_on_its_day(alt: Client) -> None:
    seen = {i["id"] for i in alt.images(instance_uuid=ALT_APP)}
    made = []
    for _ in range(7):
        tick(alt.cloud)
        now = {i["id"] for i in alt.images(instance_uuid=ALT_APP)}
        made.append(bool(now - seen))
        seen = now
    # Starting on Saturday 2025-01-04: only the second day is a Sunday.
    assert made == [False, True, False, False, False, False, False]
    names = [i["name"] for i in marked(alt, ALT_APP)]
    assert len(names) == 2  # retention 2
    sunday = dt.datetime(2025, 1, 5, 3, 17, tzinfo=dt.timezone.utc)
    assert names[0] == f"Weekly-alt-app-{int(sunday.timestamp())}"


def test_disabled_schedule_stops_images_and_prunes_nothing(
    demo: Client,
) -> None:
    demo.delete(demo.schedule_url(DB))
    before = {i["id"] for i in demo.images(instance_uuid=DB)}
    tick(demo.cloud, days=3)
    assert {i["id"] for i in demo.images(instance_uuid=DB)} == before


def test_retention_change_takes_effect_at_next_image(demo: Client) -> None:
    enable(demo, DB, retention=1)
    assert len(marked(demo, DB)) == 3  # nothing happens until a tick
    tick(demo.cloud)
    assert len(marked(demo, DB)) == 1


def test_long_names_are_cut_to_255(cloud: Sandbox) -> None:
    with cloud.lock:
        cloud.state.servers[MYSERVER].name = "x" * 300
    client = Client(cloud, "demo")
    enable(client, MYSERVER, retention=1)
    tick(cloud)
    (image,) = marked(client, MYSERVER)
    assert len(image["name"]) == 255
    assert image["name"].startswith("Daily-xxx")


def test_clock_can_be_set(cloud: Sandbox) -> None:
    answer = requests.put(
        f"{cloud.url}/sandbox/clock", json={"clock": "2030-06-02T10:00:00"}
    )
    assert answer.json() == {"clock": "2030-06-02T10:00:00Z"}
    assert requests.get(f"{cloud.url}/sandbox/clock").json() == {
        "clock": "2030-06-02T10:00:00Z"
    }
    bad = requests.put(f"{cloud.url}/sandbox/clock", json={"clock": "soon"})
    assert bad.status_code == 400


@pytest.mark.parametrize("days", [0, -1, "2", True, 100000])
def test_tick_rejects_bad_days(cloud: Sandbox, days: Any) -> None:
    answer = requests.post(f"{cloud.url}/sandbox/tick", json={"days": days})
    assert answer.status_code == 400


def _image(
    n: int,
    *,
    server: str = "s",
    owner: str = "p",
    status: str = "active",
    mark: str | None = SERVICE,
) -> Image:
    properties = {"instance_uuid": server}
    if mark is not None:
        properties[MARK] = mark
    stamp = f"2025-01-{n:02d}T00:00:00Z"
    return Image(
        id=f"i{n:02d}",
        name=f"n{n}",
        owner=owner,
        created_at=stamp,
        updated_at=stamp,
        status=status,
        properties=properties,
    )


def test_plan_prune_rule() -> None:
    images = [_image(n) for n in range(1, 8)]
    images += [
        _image(20, mark=None),
        _image(21, mark="someone_else"),
        _image(22, status="queued"),
        _image(23, server="other"),
        _image(24, owner="q"),
    ]
    assert plan_prune(images, "s", "p", 3) == ["i04", "i03", "i02", "i01"]
    assert plan_prune(images, "s", "p", 7) == []
    assert plan_prune(images, "s", "p", 0) == []


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 28),  # day of creation
            st.sampled_from(["s", "other"]),
            st.sampled_from(["p", "q"]),
            st.sampled_from(["active", "queued", "saving"]),
            st.sampled_from([SERVICE, None, "someone_else"]),
        ),
        max_size=25,
    ),
    st.integers(0, 30),
)
def test_plan_prune_keeps_newest_counted_and_nothing_else(
    specs: list[tuple[int, str, str, str, str | None]], retention: int
) -> None:
    images = []
    for number, (day, server, owner, status, mark) in enumerate(specs):
        image = _image(
            day, server=server, owner=owner, status=status, mark=mark
        )
        image.id = f"i{number:03d}"
        images.append(image)
    doomed = set(plan_prune(images, "s", "p", retention))
    counted = [
        i
        for i in images
        if i.owner == "p"
        and i.status == "active"
        and i.properties.get("instance_uuid") == "s"
        and i.properties.get(MARK) == SERVICE
    ]
    assert doomed <= {i.id for i in counted}
    kept = [i for i in counted if i.id not in doomed]
    if retention <= 0:
        assert doomed == set()
    else:
        assert len(kept) == min(retention, len(counted))
        if doomed and kept:
            oldest_kept = min((i.created_at, i.id) for i in kept)
            newest_doomed = max(
                (i.created_at, i.id) for i in counted if i.id in doomed
            )
            assert newest_doomed < oldest_kept
