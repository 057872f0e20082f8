"""A large fleet loads quickly and hot paths stay fast."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox

from .conftest import Client


@pytest.fixture(scope="module")
def fleet() -> Iterator[tuple[Sandbox, float]]:
    start = time.perf_counter()
    cloud = Sandbox(servers=10000, scheduled=2000, images=100000, seed=5)
    loaded = time.perf_counter() - start
    cloud.start()
    yield cloud, loaded
    cloud.stop()


def _average_ms(client: Client, url: str, count: int = 30) -> float:
    client.get(url)  # warm the connection
    start = time.perf_counter()
    for _ in range(count):
        assert client.get(url).status_code == 200
    return (time.perf_counter() - start) / count * 1000


def test_fleet_loads_in_seconds(fleet: tuple[Sandbox, float]) -> None:
    cloud, loaded = fleet
    assert len(cloud.state.servers) == 10006
    assert len(cloud.state.images) > 100000
    assert loaded < 10


def test_generation_is_deterministic() -> None:
    first = Sandbox(servers=50, scheduled=10, images=200, seed=9).state
    second = Sandbox(servers=50, scheduled=10, images=200, seed=9).state
    assert first.to_json() == second.to_json()
    other = Sandbox(servers=50, scheduled=10, images=200, seed=10).state
    assert other.to_json() != first.to_json()


def test_hot_paths_stay_fast(fleet: tuple[Sandbox, float]) -> None:
    cloud, _ = fleet
    client = Client(cloud, "demo")
    ids = cloud.state.project_servers[client.project]
    scheduled = next(i for i in ids if cloud.state.servers[i].schedule)
    marker = ids[7000]
    # Generous bounds: they catch a full scan, not a slow machine.
    budgets = {
        f"{client.compute}/servers/{ids[5000]}": 5,
        f"{client.compute}/servers/detail?limit=100&marker={marker}": 10,
        f"{client.image}/v2/images?instance_uuid={scheduled}": 5,
        f"{client.image}/v2/images?limit=25": 5,
    }
    for url, budget in budgets.items():
        assert _average_ms(client, url) < budget, url
