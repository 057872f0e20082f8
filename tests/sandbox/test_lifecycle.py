"""lifecycle.py: each server action moves through Nova's states to ACTIVE
(or ERROR with a fault) after the action delay, on a clock the test
moves by hand."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox

from .conftest import DB, MARK, MYSERVER, Client
from .lifecycle_helpers import act, admin, create, show

DELAY = 10.0


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def at(self, fraction: float) -> None:
        """The clock at `fraction` of the action delay after now's start."""
        self.now = self.start + fraction * DELAY

    def mark(self) -> None:
        self.start = self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def slow(clock: FakeClock) -> Iterator[Sandbox]:
    with Sandbox(action_delay=DELAY) as sandbox:
        sandbox.lifecycle.clock = clock
        yield sandbox


@pytest.fixture
def user(slow: Sandbox) -> Client:
    return Client(slow, "demo")


def snapshot_image(cloud: Sandbox, server_id: str, **body: object) -> str:
    answer = admin(cloud, "POST", "/images", {"server_id": server_id, **body})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]  # type: ignore[no-any-return]


def test_create_shows_build_then_active(
    slow: Sandbox, user: Client, clock: FakeClock
) -> None:
    clock.mark()
    answer = create(user, metadata={"role": "web"})
    assert answer.status_code == 202, answer.text
    server_id = answer.json()["server"]["id"]
    building = show(user, server_id)
    assert (
        building["status"],
        building["OS-EXT-STS:task_state"],
        building["OS-EXT-STS:vm_state"],
    ) == ("BUILD", "spawning", "building")
    clock.at(0.99)
    assert show(user, server_id)["status"] == "BUILD"
    clock.at(1.0)
    active = show(user, server_id)
    assert (
        active["status"],
        active["OS-EXT-STS:task_state"],
        active["OS-EXT-STS:vm_state"],
    ) == ("ACTIVE", None, "active")
    assert active["image"]["id"] == "0f5c4a7e-1d2b-4c3a-9e8f-7a6b5c4d3e2f"
    assert active["flavor"]["id"] == "general1-1"
    assert active["metadata"] == {"role": "web"}
    assert "fault" not in active


def test_image_set_to_fail_ends_error_with_fault(
    slow: Sandbox, user: Client, clock: FakeClock
) -> None:
    image = snapshot_image(slow, MYSERVER)
    admin(slow, "PUT", f"/images/{image}/boot", {"outcome": "error"})
    clock.mark()
    server_id = create(user, image=image).json()["server"]["id"]
    clock.at(1.0)
    failed = show(user, server_id)
    assert (failed["status"], failed["OS-EXT-STS:vm_state"]) == (
        "ERROR",
        "error",
    )
    assert failed["fault"]["code"] == 500
    assert image in failed["fault"]["message"]


def test_rebuild_keeps_id_and_address_and_runs_the_new_image(
    slow: Sandbox, user: Client, clock: FakeClock
) -> None:
    image = snapshot_image(slow, MYSERVER)
    before = show(user, MYSERVER)
    clock.mark()
    answer = act(user, MYSERVER, {"rebuild": {"imageRef": image}})
    assert answer.status_code == 202, answer.text
    assert answer.json()["server"]["status"] == "REBUILD"
    during = show(user, MYSERVER)
    assert (during["status"], during["OS-EXT-STS:task_state"]) == (
        "REBUILD",
        "rebuilding",
    )
    clock.at(1.0)
    after = show(user, MYSERVER)
    assert after["status"] == "ACTIVE"
    assert after["OS-EXT-STS:task_state"] is None
    assert after["image"]["id"] == image
    assert (after["id"], after["addresses"]) == (
        before["id"],
        before["addresses"],
    )
    assert slow.server_record(MYSERVER)["image_id"] == image


def test_rebuild_to_a_failing_image_ends_error_and_a_good_one_mends_it(
    slow: Sandbox, user: Client, clock: FakeClock
) -> None:
    bad = snapshot_image(slow, MYSERVER)
    good = snapshot_image(slow, MYSERVER)
    slow.set_boot_outcome(bad, "error")
    clock.mark()
    act(user, MYSERVER, {"rebuild": {"imageRef": bad}})
    clock.at(1.0)
    assert show(user, MYSERVER)["status"] == "ERROR"
    clock.mark()
    answer = act(user, MYSERVER, {"rebuild": {"imageRef": good}})
    assert answer.status_code == 202, answer.text
    clock.at(1.0)
    mended = show(user, MYSERVER)
    assert mended["status"] == "ACTIVE" and "fault" not in mended


def test_delete_reads_deleted_then_is_gone_with_its_schedule(
    slow: Sandbox, user: Client, clock: FakeClock
) -> None:
    images_before = user.images(instance_uuid=DB)
    clock.mark()
    answer = user.delete(f"{user.compute}/servers/{DB}")
    assert answer.status_code == 204
    deleting = show(user, DB)
    assert (deleting["status"], deleting["OS-EXT-STS:task_state"]) == (
        "DELETED",
        "deleting",
    )
    assert user.get(user.schedule_url(DB)).status_code == 404
    clock.at(1.0)
    assert user.get(f"{user.compute}/servers/{DB}").status_code == 404
    listed = user.get(f"{user.compute}/servers").json()["servers"]
    assert DB not in {s["id"] for s in listed}
    assert user.images(instance_uuid=DB) == images_before


def test_create_image_moves_through_the_snapshot_states(
    slow: Sandbox, user: Client, clock: FakeClock
) -> None:
    clock.mark()
    answer = act(
        user,
        MYSERVER,
        {"createImage": {"name": "pre", "metadata": {"why": "test"}}},
    )
    assert answer.status_code == 202, answer.text
    image_id = answer.headers["Location"].rsplit("/", 1)[1]
    seen = []
    for fraction in (0.0, 0.34, 0.67, 1.0):
        clock.at(fraction)
        task = show(user, MYSERVER)["OS-EXT-STS:task_state"]
        image = user.get(f"{user.image}/v2/images/{image_id}").json()
        seen.append((task, image["status"]))
    assert seen == [
        ("image_snapshot", "queued"),
        ("image_pending_upload", "saving"),
        ("image_uploading", "saving"),
        (None, "active"),
    ]
    assert image["instance_uuid"] == MYSERVER
    assert image["image_type"] == "snapshot"
    assert image["why"] == "test"
    assert MARK not in image
    assert image["min_disk"] == 20 and image["size"] > 0


def test_snapshot_set_to_fail_ends_killed(
    slow: Sandbox, user: Client, clock: FakeClock
) -> None:
    admin(slow, "PUT", f"/servers/{MYSERVER}/snapshot", {"outcome": "killed"})
    clock.mark()
    answer = act(user, MYSERVER, {"createImage": {"name": "pre"}})
    image_id = answer.headers["Location"].rsplit("/", 1)[1]
    clock.at(1.0)
    image = user.get(f"{user.image}/v2/images/{image_id}").json()
    assert (image["status"], image["size"]) == ("killed", 0)
    assert show(user, MYSERVER)["OS-EXT-STS:task_state"] is None


def test_delete_during_a_snapshot_kills_the_image(
    slow: Sandbox, user: Client, clock: FakeClock
) -> None:
    clock.mark()
    answer = act(user, MYSERVER, {"createImage": {"name": "pre"}})
    image_id = answer.headers["Location"].rsplit("/", 1)[1]
    user.delete(f"{user.compute}/servers/{MYSERVER}")
    image = user.get(f"{user.image}/v2/images/{image_id}").json()
    assert image["status"] == "killed"


def test_a_new_delay_applies_to_actions_in_progress(slow: Sandbox) -> None:
    user = Client(slow, "demo")
    slow.lifecycle.clock = FakeClock()
    server_id = create(user).json()["server"]["id"]
    assert show(user, server_id)["status"] == "BUILD"
    slow.set_action_delay(0)
    assert show(user, server_id)["status"] == "ACTIVE"


def test_the_timer_finishes_an_action_nobody_reads(tmp_path: Path) -> None:
    # Real time: the sandbox's own thread applies the step and saves it.
    state_file = tmp_path / "state.json"
    with Sandbox(action_delay=0.05, state_file=state_file) as cloud:
        user = Client(cloud, "demo")
        server_id = create(user).json()["server"]["id"]
        for _ in range(400):
            with cloud.lock:
                if cloud.state.servers[server_id].status == "ACTIVE":
                    break
            time.sleep(0.05)
        assert cloud.state.servers[server_id].status == "ACTIVE"
    assert (
        '"status":"ACTIVE"' in state_file.read_text().split(server_id)[1][:400]
    )


def test_new_fields_are_kept_and_a_cut_short_build_ends_on_restart(
    tmp_path: Path,
) -> None:
    state_file = tmp_path / "state.json"
    with Sandbox(action_delay=3600, state_file=state_file) as cloud:
        user = Client(cloud, "demo")
        image = snapshot_image(cloud, MYSERVER, min_disk=40)
        cloud.set_boot_outcome(image, "no-answer")
        server_id = create(
            user, image=image, flavor="general1-2", metadata={"a": "b"}
        ).json()["server"]["id"]
        assert show(user, server_id)["status"] == "BUILD"
    with Sandbox(state_file=state_file) as again:
        record = again.server_record(server_id)
        assert (record["status"], record["task_state"]) == ("ACTIVE", None)
        assert record["metadata"] == {"a": "b"}
        assert record["flavor"] == "general1-2"
        assert (record["answers_tcp"], record["answering"]) == (False, False)
        assert again.state.images[image].boot_outcome == "no-answer"
        assert again.state.images[image].min_disk == 40


def test_a_server_rebuilt_while_shutoff_stays_shutoff(
    slow: Sandbox, user: Client, clock: FakeClock
) -> None:
    image = snapshot_image(slow, MYSERVER)
    slow.set_server_state(MYSERVER, "SHUTOFF")
    clock.mark()
    answer = act(user, MYSERVER, {"rebuild": {"imageRef": image}})
    assert answer.status_code == 202, answer.text
    assert show(user, MYSERVER)["status"] == "REBUILD"
    clock.at(1.0)
    after = show(user, MYSERVER)
    assert (after["status"], after["image"]["id"]) == ("SHUTOFF", image)
    assert slow.server_record(MYSERVER)["answering"] is False
