"""restore.py: which image, the plan, and every refusal. Pure."""

from __future__ import annotations

import datetime

import pytest

from rax_scheduled_images_python_novaclient_ext import restore as decide

from .restore_cloud import FLAVORS, FOREIGN, NEW, OLD, OTHER, WEB, glance
from .restore_cloud import nova_server as server

NOW = datetime.datetime(2026, 11, 4, 15, 30, tzinfo=datetime.timezone.utc)


def plan(**kwargs):
    args = {
        "server": server(),
        "image": glance(NEW, 3),
        "flavor": FLAVORS["f20"],
    }
    args.update(kwargs)
    return decide.plan_restore(
        args.pop("server"), args.pop("image"), args.pop("flavor"), NOW, **args
    )


def refusal(**kwargs) -> str:
    with pytest.raises(decide.RestoreRefused) as caught:
        plan(**kwargs)
    text = str(caught.value)
    assert "\n" not in text
    return text


# --- which image ---------------------------------------------------------


def test_newest_active_scheduled_image_is_chosen():
    images = [glance(OLD, 1), glance(NEW, 3), glance("x", 4, status="saving")]
    assert decide.newest_image(images, WEB, "web")["id"] == NEW


def test_kept_images_count_by_property_and_by_old_name():
    kept = glance("k", 5, marked=False, kept=True)
    named = glance("n", 6, marked=False, name="weekly-web-1763000000")
    other_name = glance("o", 8, marked=False, name="Daily-db-1763000000")
    manual = glance("m", 7, marked=False, name="my snapshot")
    assert decide.newest_image([glance(OLD, 1), kept], WEB, "web")["id"] == "k"
    assert (
        decide.newest_image([glance(OLD, 1), named], WEB, "web")["id"] == "n"
    )
    assert (
        decide.newest_image([glance(OLD, 1), manual], WEB, "web")["id"] == OLD
    )
    assert (
        decide.newest_image([glance(OLD, 1), other_name], WEB, "web")["id"]
        == OLD
    )


def test_images_of_another_server_are_never_chosen():
    assert decide.newest_image([glance(FOREIGN, 4, OTHER)], WEB, "web") is None


# --- the plan ------------------------------------------------------------


def test_plan_in_place_lines():
    made = plan()
    assert made.in_place
    assert made.safety_image_name == "pre-restore-web-20261104T153000Z"
    assert made.lines() == [
        f"Server: web ({WEB})",
        f"Image: {NEW} Daily-web-1703",
        "  created 2026-11-03 03:00 UTC, 36h 30m ago; size 1.0 GiB",
        "Restore: in place: rebuild the server from this image. Its system "
        "disk is replaced; its id and addresses stay.",
        "  Lost: every change on its system disk since 2026-11-03 03:00 UTC.",
        "Safety image first: pre-restore-web-20261104T153000Z (of the server "
        "as it is now; the scheduled images service never counts or "
        "deletes it)",
    ]


def test_plan_without_safety_image_says_so():
    made = plan(safety_image=False)
    assert made.safety_image_name is None
    assert made.lines()[-1].startswith("No safety image (--no-safety-image)")


def test_plan_as_new():
    made = plan(new_name="web-copy", networks=["net-1"], flavor=FLAVORS["f40"])
    assert not made.in_place
    assert made.safety_image_name is None
    assert made.lines()[-1] == (
        "Restore: as a new server web-copy, flavor m.40 (f40), networks: "
        "net-1. web is not changed."
    )


def test_names_stay_within_nova_limit():
    name = decide.throwaway_name("x" * 300, NOW)
    assert len(name) == 255
    assert name.startswith("restore-test-x") and name.endswith("T153000Z")


# --- each refusal --------------------------------------------------------


def test_refused_image_not_active():
    text = refusal(image=glance(NEW, 3, status="saving"))
    assert text == f"Image {NEW} is saving, not active: only an active " \
        "image can be restored."  # fmt: skip


def test_refused_image_of_another_server():
    text = refusal(image=glance(FOREIGN, 4, OTHER))
    assert f"is an image of server {OTHER}, not of web ({WEB})" in text


def test_refused_min_disk_above_flavor_disk():
    text = refusal(image=glance(NEW, 3, min_disk=40))
    assert text == (
        f"Image {NEW} needs a disk of 40 GB and flavor m.20 (f20) has 20 GB."
    )


def test_refused_volume_flavor_says_so():
    text = refusal(flavor=FLAVORS["f0"])
    assert "has no local disk (disk 0: it boots from a volume)" in text


def test_refused_volume_backed_server():
    text = refusal(server=server(image=""))
    assert text == (
        f"Server web ({WEB}) boots from a volume: an image restores only a "
        "system disk, never a volume."
    )


@pytest.mark.parametrize("status", ["BUILD", "REBUILD", "RESIZE", "PAUSED"])
def test_refused_server_not_active_shutoff_or_error(status):
    assert f"is {status}: it can be rebuilt only when" in refusal(
        server=server(status=status)
    )


def test_refused_task_in_progress():
    assert "has a task in progress (image_snapshot)" in refusal(
        server=server(task="image_snapshot")
    )


@pytest.mark.parametrize("status", ["ACTIVE", "SHUTOFF", "ERROR"])
def test_restorable_states(status):
    assert plan(server=server(status=status)).in_place


def test_refused_as_new_name_taken():
    text = refusal(new_name="db", taken=[{"id": "d1", "name": "db"}])
    assert text.startswith("A server named db already exists (d1)")


def test_as_new_ignores_the_state_of_the_server():
    # A broken server can still be copied: only a rebuild needs a state.
    assert not plan(server=server(status="BUILD"), new_name="c").in_place
