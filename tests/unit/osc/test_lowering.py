"""``openstack server image schedule set`` lowering a retention."""

from __future__ import annotations

from ..conftest import SERVER_ID, api_calls
from ..test_lowering import EXPECTED, SCHED_PATH, SCHED_URL, echo, eight_images


def test_openstack_set_lowering_warns_and_dry_run_changes_nothing(
    openstack, mock
):
    mock.get(SCHED_URL, json={"image_schedule": {"retention": 8}})
    mock.post(SCHED_URL, json=echo)
    eight_images(mock)
    dry = openstack(
        "server", "image", "schedule", "set", "--retention", "3",
        "--dry-run", SERVER_ID,
    )  # fmt: skip
    assert dry.code == 0, dry.err
    assert dry.error_lines == EXPECTED
    assert dry.out == (
        f"{SERVER_ID}: dry run: would get Schedule type: Daily, "
        "Retention: 3; nothing changed\n"
    )
    assert "POST" not in [method for method, _ in api_calls(mock)]
    done = openstack(
        "server", "image", "schedule", "set", "--retention", "3", SERVER_ID
    )
    assert done.code == 0, done.err
    assert done.error_lines == EXPECTED
    assert api_calls(mock)[-1] == ("POST", SCHED_PATH)
