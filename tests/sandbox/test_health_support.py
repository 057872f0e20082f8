"""What the health view needs of the sandbox: runs that are skipped or
fail, images of any size, and a "now" that agrees with its clock."""

from __future__ import annotations

import requests

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox
from rax_scheduled_images_python_novaclient_ext.sandbox.cli import banner

from .conftest import DB, MARK, Client
from .test_scheduler import add_image, tick


def outcome(cloud: Sandbox, server: str, value: object) -> requests.Response:
    return requests.post(
        f"{cloud.url}/sandbox/outcome",
        json={"server_id": server, "outcome": value},
    )


def db_images(demo: Client) -> list[dict[str, object]]:
    return demo.images(instance_uuid=DB)


def test_skipped_runs_make_no_image(demo: Client) -> None:
    before = {image["id"] for image in db_images(demo)}
    answer = outcome(demo.cloud, DB, "skip")
    assert answer.status_code == 200
    assert answer.json() == {"server_id": DB, "outcome": "skip"}
    # Saturday: of the seeded schedules only db's (daily) is due.
    result = tick(demo.cloud)
    assert result["created"] == [] and result["deleted"] == []
    assert result["clock"] == "2025-01-05T03:17:00Z"
    assert {image["id"] for image in db_images(demo)} == before


def test_failed_run_leaves_a_killed_marked_image_never_pruned(
    demo: Client,
) -> None:
    assert outcome(demo.cloud, DB, "fail").status_code == 200
    first = tick(demo.cloud)
    (failed_id,) = first["created"]
    assert first["deleted"] == []
    failed = next(i for i in db_images(demo) if i["id"] == failed_id)
    assert (failed["status"], failed[MARK], failed["size"]) == (
        "killed",
        "scheduled_images_service",
        0,
    )
    # Back to normal: three good runs prune the active ones only.
    assert outcome(demo.cloud, DB, "ok").status_code == 200
    tick(demo.cloud, days=3)
    statuses = sorted(str(i["status"]) for i in db_images(demo))
    assert statuses == ["active"] * 4 + ["killed"]  # 3 counted + 1 kept


def test_outcome_refuses_unknown_values_and_servers(demo: Client) -> None:
    bad = outcome(demo.cloud, DB, "later")
    assert bad.status_code == 400
    assert "outcome must be one of ok, skip, fail" in bad.text
    assert outcome(demo.cloud, "nope", "skip").status_code == 404


def test_added_image_takes_a_size(demo: Client) -> None:
    made = add_image(demo.cloud, server_id=DB, size=123456789)
    assert made["size"] == 123456789
    shown = demo.get(f"{demo.image}/v2/images/{made['id']}").json()
    assert shown["size"] == 123456789
    bad = requests.post(
        f"{demo.cloud.url}/sandbox/images", json={"server_id": DB, "size": -1}
    )
    assert bad.status_code == 400


def test_now_env_follows_the_clock(demo: Client) -> None:
    cloud = demo.cloud
    assert cloud.now_env() == {"SCHEDULED_IMAGES_NOW": "2025-01-04T03:17:00Z"}
    tick(cloud)
    assert cloud.now_env() == {"SCHEDULED_IMAGES_NOW": "2025-01-05T03:17:00Z"}
    assert "export SCHEDULED_IMAGES_NOW=2025-01-05T03:17:00Z" in (
        banner(cloud).splitlines()
    )


def test_outcome_survives_a_restart(tmp_path: object) -> None:
    path = f"{tmp_path}/state.json"
    with Sandbox(state_file=path) as cloud:
        assert outcome(cloud, DB, "skip").status_code == 200
    with Sandbox(state_file=path) as cloud:
        # Saturday: only the daily db is due, and it is skipped.
        assert tick(cloud)["created"] == []
