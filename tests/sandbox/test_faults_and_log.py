"""Fault injection is seeded and harmless to state; the request log."""

from __future__ import annotations

import time

import pytest
import requests

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox

from .conftest import MYSERVER, Client, fault


def statuses(cloud: Sandbox, client: Client, count: int) -> list[int]:
    result = []
    for _ in range(count):
        try:
            answer = client.get(f"{client.compute}/servers", timeout=5)
        except requests.ConnectionError:
            result.append(0)
        else:
            result.append(answer.status_code)
    return result


def test_same_seed_same_faults() -> None:
    runs = []
    for _ in range(2):
        with Sandbox(seed=42, fault_rate=0.5, drop_rate=0.1) as cloud:
            client = Client(cloud, "demo")  # identity is not faulted
            runs.append(statuses(cloud, client, 40))
    assert runs[0] == runs[1]
    kinds = set(runs[0])
    assert {0, 200} <= kinds and kinds - {0, 200} <= {503, 429, 413}
    assert len(kinds) >= 3


def test_other_seed_other_faults() -> None:
    runs = []
    for seed in (1, 2):
        with Sandbox(seed=seed, fault_rate=0.5) as cloud:
            runs.append(statuses(cloud, Client(cloud, "demo"), 30))
    assert runs[0] != runs[1]


@pytest.mark.parametrize("code", [503, 429, 413])
def test_injected_faults_carry_retry_after(code: int) -> None:
    with Sandbox(fault_rate=1.0, fault_codes=(code,), retry_after=2) as cloud:
        client = Client(cloud, "demo")
        answer = client.get(f"{client.compute}/servers")
        status, name, _ = fault(answer)
        assert status == code
        assert name == {503: "serviceUnavailable"}.get(code, "overLimit")
        assert answer.headers["Retry-After"] == "2"


def test_faulted_request_changes_nothing() -> None:
    with Sandbox(fault_rate=1.0, fault_codes=(503,)) as cloud:
        client = Client(cloud, "demo")
        answer = client.post(
            client.schedule_url(MYSERVER),
            json={"image_schedule": {"retention": 2}},
        )
        assert answer.status_code == 503
        assert cloud.state.servers[MYSERVER].schedule is None


def test_dropped_request_changes_nothing() -> None:
    with Sandbox(drop_rate=1.0) as cloud:
        client = Client(cloud, "demo")
        with pytest.raises(requests.ConnectionError):
            client.post(
                client.schedule_url(MYSERVER),
                json={"image_schedule": {"retention": 2}},
            )
        assert cloud.state.servers[MYSERVER].schedule is None
        assert cloud.requests[-1]["status"] == 0


def test_faults_change_at_run_time(cloud: Sandbox) -> None:
    client = Client(cloud, "demo")
    answer = requests.post(
        f"{cloud.url}/sandbox/faults",
        json={"fault_rate": 1.0, "fault_codes": [429]},
    )
    assert answer.json()["fault_rate"] == 1.0
    assert client.get(f"{client.compute}/servers").status_code == 429
    # Admin calls are never faulted.
    assert requests.get(f"{cloud.url}/sandbox/faults").status_code == 200
    requests.post(f"{cloud.url}/sandbox/faults", json={"fault_rate": 0})
    assert client.get(f"{client.compute}/servers").status_code == 200
    bad = requests.post(f"{cloud.url}/sandbox/faults", json={"rate": 1})
    assert bad.status_code == 400


def test_latency_is_added() -> None:
    with Sandbox(latency_ms=150) as cloud:
        client = Client(cloud, "demo")
        start = time.perf_counter()
        client.get(f"{client.compute}/servers")
        assert time.perf_counter() - start >= 0.15


def test_request_log_records_api_calls_only(cloud: Sandbox) -> None:
    client = Client(cloud, "demo")
    requests.delete(f"{cloud.url}/sandbox/requests")
    client.post(
        client.schedule_url(MYSERVER),
        json={"image_schedule": {"retention": 2}},
    )
    client.get(f"{client.image}/v2/images", params={"limit": "1"})
    requests.post(f"{cloud.url}/sandbox/tick")
    log = requests.get(f"{cloud.url}/sandbox/requests").json()
    assert log["count"] == 2
    assert log["requests"] == [
        {
            "method": "POST",
            "path": f"/compute/v2/100001/servers/{MYSERVER}"
            "/os-si-image-schedule",
            "query": "",
            "status": 200,
            "body": {"image_schedule": {"retention": 2}},
        },
        {
            "method": "GET",
            "path": "/image/v2/images",
            "query": "limit=1",
            "status": 200,
            "body": None,
        },
    ]
    assert cloud.requests == log["requests"]
    requests.delete(f"{cloud.url}/sandbox/requests")
    assert cloud.requests == []
