"""A large fleet is generated as asked, and its hot paths answer right.

The wall-clock budgets (how fast the fleet loads, how fast the hot paths
answer) are timed assertions: they are marked ``perf`` and left out of
the default runs (a loaded machine would fail them), and the benchmark's
``sandbox`` case measures the same requests (``bench/run --only
sandbox``). Run them with ``tools/run-tests -e perf`` (or ``pytest -m
perf tests/sandbox``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox
from rax_scheduled_images_python_novaclient_ext.sandbox.persistence import (
    to_json,
)

from .conftest import Client


@pytest.fixture(scope="module")
def fleet() -> Iterator[tuple[Sandbox, float]]:
    start = time.perf_counter()
    cloud = Sandbox(servers=10000, scheduled=2000, images=100000, seed=5)
    loaded = time.perf_counter() - start
    cloud.start()
    yield cloud, loaded
    cloud.stop()


def _hot_paths(cloud: Sandbox, client: Client) -> dict[str, str]:
    """What each hot path is, by its URL on the large fleet."""
    ids = cloud.state.project_servers[client.project]
    scheduled = next(i for i in ids if cloud.state.servers[i].schedule)
    servers, images = f"{client.compute}/servers", f"{client.image}/v2/images"
    return {
        "server": f"{servers}/{ids[5000]}",
        "page": f"{servers}/detail?limit=100&marker={ids[7000]}",
        "images_of_server": f"{images}?instance_uuid={scheduled}",
        "image_page": f"{images}?limit=25",
    }


def test_a_large_fleet_is_generated_as_asked(
    fleet: tuple[Sandbox, float],
) -> None:
    cloud, _ = fleet
    assert len(cloud.state.servers) == 10006
    assert len(cloud.state.images) > 100000


def test_generation_is_deterministic() -> None:
    first = Sandbox(servers=50, scheduled=10, images=200, seed=9).state
    second = Sandbox(servers=50, scheduled=10, images=200, seed=9).state
    assert to_json(first) == to_json(second)
    other = Sandbox(servers=50, scheduled=10, images=200, seed=10).state
    assert to_json(other) != to_json(first)


def test_hot_paths_answer_right_on_a_large_fleet(
    fleet: tuple[Sandbox, float],
) -> None:
    cloud, _ = fleet
    client = Client(cloud, "demo")
    ids = cloud.state.project_servers[client.project]
    urls = _hot_paths(cloud, client)
    assert client.get(urls["server"]).json()["server"]["id"] == ids[5000]
    page = [s["id"] for s in client.get(urls["page"]).json()["servers"]]
    assert page == ids[7001:7101]
    scheduled = urls["images_of_server"].rsplit("=", 1)[1]
    images = client.get(urls["images_of_server"]).json()["images"]
    assert images
    assert {i["instance_uuid"] for i in images} == {scheduled}
    assert len(client.get(urls["image_page"]).json()["images"]) == 25


def _average_ms(client: Client, url: str, count: int = 30) -> float:
    client.get(url)  # warm the connection
    start = time.perf_counter()
    for _ in range(count):
        assert client.get(url).status_code == 200
    return (time.perf_counter() - start) / count * 1000


@pytest.mark.perf
def test_fleet_loads_in_seconds(fleet: tuple[Sandbox, float]) -> None:
    _, loaded = fleet
    assert loaded < 10


@pytest.mark.perf
def test_hot_paths_stay_fast(fleet: tuple[Sandbox, float]) -> None:
    cloud, _ = fleet
    client = Client(cloud, "demo")
    urls = _hot_paths(cloud, client)
    # Generous bounds: they catch a full scan, not a slow machine.
    budgets = {"server": 5, "page": 10, "images_of_server": 5, "image_page": 5}
    for name, budget in budgets.items():
        assert _average_ms(client, urls[name]) < budget, urls[name]
