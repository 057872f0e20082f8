"""``openstack server image schedule check --prometheus-file``: the
installed command against the sandbox, its file parsed back with
prometheus_client's own parser to the values the sandbox holds.

One server is named with a quote, a backslash, a newline and an ``é``:
server names are user input, and a label must bring them back as they
were.
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from rax_scheduled_images_python_novaclient_ext.sandbox.model import (
    CREATED_BY,
    SERVICE_MARK,
    parse_time,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.server import Sandbox

from .conftest import SCHEDULE_SET, clean_env, run_command

pytestmark = pytest.mark.functional

ODD_NAME = 'we"b\\1\nété'
DB = "3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69"
CHECK = ("openstack", "server", "image", "schedule", "check")
# The service's hard timeout: a marked image not ACTIVE after it failed.
SNAPSHOT_TIMEOUT = dt.timedelta(hours=4)


def admin(cloud: Sandbox, what: str, body: dict[str, Any]) -> Any:
    answer = requests.post(
        f"{cloud.url}/sandbox/{what}", json=body, timeout=10
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


@pytest.fixture(scope="module")
def cloud() -> Iterator[Sandbox]:
    """db (seeded: daily, 3 images and a kept one) and the oddly named
    server: one failed run, then good ones."""
    with Sandbox() as sandbox:
        odd = admin(sandbox, "servers", {"name": ODD_NAME})["server"]["id"]
        env = clean_env(**sandbox.env())
        done = run_command(
            ["openstack", *SCHEDULE_SET, "--retention", "2", odd], env
        )
        assert done.code == 0, done
        admin(sandbox, "outcome", {"server_id": odd, "outcome": "fail"})
        sandbox.tick()
        admin(sandbox, "outcome", {"server_id": odd, "outcome": "ok"})
        sandbox.tick(days=3)
        # A person's own snapshot (not one the service made, whose
        # freshness would count): kept, never the last image.
        admin(
            sandbox,
            "images",
            {"server_id": odd, "marked": False, "name": "before-upgrade"},
        )
        sandbox.odd = odd  # type: ignore[attr-defined]
        yield sandbox


def check(cloud: Sandbox, *argv: str, **extra: str) -> Any:
    env = clean_env(**{**cloud.env(), **cloud.now_env(), **extra})
    return run_command([*CHECK, *argv], env)


def samples(path: pathlib.Path) -> dict[tuple[str, Any], float]:
    """(name, labels) -> value, as Prometheus reads the file."""
    found = {}
    for family in text_string_to_metric_families(
        path.read_text(encoding="utf-8")
    ):
        for sample in family.samples:
            labels = tuple(sorted(sample.labels.items()))
            found[(sample.name, labels)] = sample.value
    return found


def held(cloud: Sandbox, server_id: str) -> dict[str, Any]:
    """What the sandbox holds of a server: its schedule and images."""
    with cloud.lock:
        server = cloud.state.servers[server_id]
        images = [
            image
            for image in cloud.state.images.values()
            if image.properties.get("instance_uuid") == server_id
        ]
        clock = cloud.state.clock
    marked = [
        i for i in images if i.properties.get(CREATED_BY) == SERVICE_MARK
    ]
    active = [i for i in marked if i.status == "active"]
    failed = [
        i
        for i in marked
        if i.status != "active"
        and clock - parse_time(i.created_at) > SNAPSHOT_TIMEOUT
    ]
    assert server.schedule is not None
    return {
        "name": server.name,
        "retention": server.schedule.retention,
        "counted": len(active),
        "failed": len(failed),
        "kept": len(images) - len(marked),
        "size": sum(i.size for i in active + failed),
        "last": max(parse_time(i.created_at) for i in active).timestamp(),
    }


def region_of(found: dict[tuple[str, Any], float]) -> str:
    """The one region the check read, as its read_success names it."""
    (region,) = [
        dict(labels)["region"]
        for name, labels in found
        if name == "scheduled_images_read_success"
    ]
    return region


def server_labels(
    cloud: Sandbox, found: dict[tuple[str, Any], float], server_id: str
) -> dict[str, str]:
    return {
        "region": region_of(found),
        "server_id": server_id,
        "server_name": held(cloud, server_id)["name"],
    }


def key(name: str, **labels: str) -> tuple[str, Any]:
    return ("scheduled_images_" + name, tuple(sorted(labels.items())))


@pytest.mark.parametrize("server_id", ["odd", DB])
def test_the_file_holds_what_the_sandbox_holds(
    cloud: Sandbox, tmp_path: pathlib.Path, server_id: str
) -> None:
    server_id = getattr(cloud, server_id, server_id)
    path = tmp_path / "scheduled_images.prom"
    result = check(cloud, "--prometheus-file", str(path))
    assert result.out.startswith("SCHEDULED IMAGES "), result
    found = samples(path)
    expected = held(cloud, server_id)
    labels = server_labels(cloud, found, server_id)
    assert found[key("retention", **labels)] == expected["retention"]
    for kind in ("counted", "failed"):
        counted = found[key("images", kind=kind, **labels)]
        assert counted == expected[kind], kind
    kept = found.get(key("images", kind="kept", **labels))
    assert kept in (None, expected["kept"])
    assert found[key("size_bytes", **labels)] == expected["size"]
    last = found[key("last_image_timestamp_seconds", **labels)]
    assert last == expected["last"]


def test_the_odd_name_comes_back_whole(
    cloud: Sandbox, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "scheduled_images.prom"
    check(cloud, "--prometheus-file", str(path))
    names = {
        dict(labels).get("server_name")
        for (name, labels) in samples(path)
        if name == "scheduled_images_state"
    }
    assert ODD_NAME in names
    assert held(cloud, cloud.odd)["failed"] == 1  # type: ignore[attr-defined]


def test_the_read_itself_is_recorded(
    cloud: Sandbox, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "scheduled_images.prom"
    before = dt.datetime.now(dt.timezone.utc).timestamp()
    result = check(cloud, "--prometheus-file", str(path))
    after = dt.datetime.now(dt.timezone.utc).timestamp()
    found = samples(path)
    assert found[key("read_success", region=region_of(found))] == 1.0
    # The real time of the read, not the sandbox's clock.
    started = found[key("read_timestamp_seconds")]
    assert before - 1 <= started <= after
    assert 0 < found[key("read_duration_seconds")] < after - before + 1
    # The option changes nothing of the check's own output.
    plain = check(cloud)
    assert (result.code, result.out) == (plain.code, plain.out)


def test_an_unwritable_path_is_unknown_and_keeps_the_old_file(
    cloud: Sandbox, tmp_path: pathlib.Path
) -> None:
    (tmp_path / "a-dir.prom").mkdir()
    missing = tmp_path / "no-such-dir" / "x.prom"
    for path in (missing, tmp_path / "a-dir.prom"):
        result = check(cloud, "--prometheus-file", str(path))
        assert result.code == 3, result
        assert result.out.splitlines()[0].startswith(
            f"SCHEDULED IMAGES UNKNOWN - Cannot write the Prometheus file "
            f"'{path}': "
        )
    assert sorted(os.listdir(tmp_path)) == ["a-dir.prom"]
    assert os.listdir(tmp_path / "a-dir.prom") == []


def test_a_failed_login_writes_read_success_0(
    cloud: Sandbox, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "scheduled_images.prom"
    result = check(cloud, "--prometheus-file", str(path), OS_PASSWORD="wrong")
    assert result.code == 3, result
    assert result.out.startswith("SCHEDULED IMAGES UNKNOWN - Unauthorized")
    found = samples(path)
    assert found[key("read_success", region="")] == 0.0
    assert set(found) == {
        key("read_success", region=""),
        key("read_timestamp_seconds"),
        key("read_duration_seconds"),
    }


def test_only_the_option_needs_prometheus_client(
    cloud: Sandbox, tmp_path: pathlib.Path
) -> None:
    # An install without prometheus_client (made here by a sitecustomize
    # that makes its import fail): the check runs as before, and only
    # the option says what is missing. (openstacksdk itself imports
    # prometheus_client at start-up when it is installed, so the import
    # time of a normal install cannot show our laziness.)
    (tmp_path / "sitecustomize.py").write_text(
        "import sys\nsys.modules['prometheus_client'] = None\n",
        encoding="utf-8",
    )
    blocked = {"PYTHONPATH": str(tmp_path)}
    plain = check(cloud)
    without = check(cloud, **blocked)
    assert (without.code, without.out) == (plain.code, plain.out)
    path = tmp_path / "x.prom"
    given = check(cloud, "--prometheus-file", str(path), **blocked)
    assert given.code == 3, given
    assert given.out.splitlines()[0] == (
        "SCHEDULED IMAGES UNKNOWN - --prometheus-file needs "
        "prometheus_client (import of prometheus_client halted; None in "
        "sys.modules): install "
        "rax_scheduled_images_python_novaclient_ext[openstack]"
    )
    assert given.out.splitlines()[1:] == plain.out.splitlines()
    assert not path.exists()


REGIONS = ["DFW", "ORD", "IAD"]


@pytest.fixture
def regions_cloud() -> Iterator[Sandbox]:
    """Three regions, ORD failing (503), IAD's web server three runs
    behind."""
    from rax_scheduled_images_python_novaclient_ext.sandbox.regionset import (
        region_servers,
    )

    with Sandbox(regions=REGIONS) as sandbox:
        iad_web = region_servers("IAD")[0][0]
        admin(sandbox, "outcome", {"server_id": iad_web, "outcome": "skip"})
        sandbox.tick(days=3)
        answer = requests.put(
            f"{sandbox.url}/sandbox/regions/ORD/fail",
            json={"status": 503},
            timeout=10,
        )
        assert answer.status_code < 300, answer.text
        sandbox.iad_web = iad_web  # type: ignore[attr-defined]
        yield sandbox


def test_every_region_has_its_read_success_and_its_servers(
    regions_cloud: Sandbox, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "scheduled_images.prom"
    result = check(
        regions_cloud,
        "--all-regions",
        "--prometheus-file",
        str(path),
        SCHEDULED_IMAGES_RETRIES="0",
    )
    assert result.code == 3, result
    assert result.out.startswith(
        "SCHEDULED IMAGES UNKNOWN - region ORD could not be read: "
    )
    found = samples(path)
    assert {
        dict(labels)["region"]: value
        for (name, labels), value in found.items()
        if name == "scheduled_images_read_success"
    } == {"DFW": 1.0, "ORD": 0.0, "IAD": 1.0}
    regions_with_servers = {
        dict(labels)["region"]
        for (name, labels) in found
        if name == "scheduled_images_retention"
    }
    assert regions_with_servers == {"DFW", "IAD"}
    iad_web = regions_cloud.iad_web  # type: ignore[attr-defined]
    states = {
        dict(labels)["state"]
        for (name, labels) in found
        if name == "scheduled_images_state"
        and dict(labels)["server_id"] == iad_web
    }
    assert states == {"missed"}
    assert key("unscheduled_servers", region="ORD") not in found
    assert found[key("unscheduled_servers", region="IAD")] == 1.0
