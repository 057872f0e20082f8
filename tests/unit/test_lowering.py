"""Lowering a retention warns of what the next run deletes.

Both front ends in-process (Keystone, Nova and the Image API mocked):
the warning's exact text, that the change is still made (or not, with
--dry-run), and that raising a retention or a first schedule costs no
image request.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rax_scheduled_images_python_novaclient_ext import actions
from rax_scheduled_images_python_novaclient_ext import schedule as domain

from .conftest import COMPUTE, IMAGE, SERVER_ID, api_calls, glance_image

SCHED_URL = f"{COMPUTE}/servers/{SERVER_ID}/os-si-image-schedule"
SCHED_PATH = f"/v2/p1/servers/{SERVER_ID}/os-si-image-schedule"
IMAGES_PATH = f"/v2/images?instance_uuid={SERVER_ID}&limit=1000"
NO_SCHEDULE = {
    "itemNotFound": {
        "message": f"Image schedule does not exist for server {SERVER_ID}",
        "code": 404,
    }
}


def image_id(day):
    return f"{day:08d}-aaaa-4aaa-8aaa-000000000000"


def eight_images(mock):
    """Eight counted images (days 1-8), a kept one and a failed one."""
    found = [glance_image(image_id(day), day) for day in range(1, 9)]
    found.append(glance_image(image_id(20), 20, marked=False))
    failed = glance_image(image_id(21), 21)
    failed["status"] = "killed"
    found.append(failed)
    mock.get(f"{IMAGE}/v2/images", json={"images": found})


def echo(request, context):
    return request.json()


EXPECTED = [
    "Retention 8 -> 3: the next scheduled image of "
    f"{SERVER_ID} deletes 6 images:",
    *(
        f"  {image_id(day)}  Daily-myserver-17{day:02d}  "
        f"2026-11-{day:02d}T03:04:05Z"
        for day in range(1, 7)
    ),
]


def test_nova_enable_lowering_warns_then_sets(nova, mock):
    mock.get(SCHED_URL, json={"image_schedule": {"retention": 8}})
    mock.post(SCHED_URL, json=echo)
    eight_images(mock)
    result = nova("scheduled-images-enable", SERVER_ID, "3")
    assert result.code == 0, result.err
    assert result.error_lines == EXPECTED
    assert result.out == ""
    assert api_calls(mock) == [
        ("GET", SCHED_PATH),
        ("GET", IMAGES_PATH),
        ("POST", SCHED_PATH),
    ]


def test_nova_enable_that_fails_warns_of_nothing(nova, mock):
    # The warning speaks of a change made: a refused POST leaves none.
    mock.get(SCHED_URL, json={"image_schedule": {"retention": 8}})
    mock.post(
        SCHED_URL,
        status_code=400,
        json={"badRequest": {"message": "Refused.", "code": 400}},
    )
    eight_images(mock)
    result = nova("scheduled-images-enable", SERVER_ID, "3")
    assert result.code == 1
    assert not any("Retention 8 -> 3" in line for line in result.error_lines)
    assert ("POST", SCHED_PATH) in api_calls(mock)


def test_nova_enable_dry_run_only_warns(nova, mock):
    mock.get(SCHED_URL, json={"image_schedule": {"retention": 8}})
    eight_images(mock)
    result = nova("scheduled-images-enable", "--dry-run", SERVER_ID, "3")
    assert result.code == 0, result.err
    assert result.error_lines == EXPECTED
    assert result.out == (
        f"Dry run: {SERVER_ID} would get Schedule type: Daily, "
        "Retention: 3; nothing changed.\n"
    )
    assert api_calls(mock) == [("GET", SCHED_PATH), ("GET", IMAGES_PATH)]


@pytest.mark.parametrize(
    "current",
    [
        {"json": {"image_schedule": {"retention": 3}}},
        {"json": {"image_schedule": {"retention": 8}}},
        {"status_code": 404, "json": NO_SCHEDULE},
    ],
)
def test_raising_keeping_or_a_first_schedule_costs_no_image_request(
    nova, mock, current
):
    mock.get(SCHED_URL, **current)
    mock.post(SCHED_URL, json=echo)
    result = nova("scheduled-images-enable", SERVER_ID, "8")
    assert (result.code, result.error_lines) == (0, [])
    assert api_calls(mock) == [("GET", SCHED_PATH), ("POST", SCHED_PATH)]


def test_a_lower_retention_that_deletes_nothing_says_so(nova, mock):
    mock.get(SCHED_URL, json={"image_schedule": {"retention": 8}})
    mock.post(SCHED_URL, json=echo)
    mock.get(
        f"{IMAGE}/v2/images",
        json={"images": [glance_image(image_id(1), 1)]},
    )
    result = nova("scheduled-images-enable", SERVER_ID, "3")
    assert result.error_lines == [
        f"Retention 8 -> 3: the next scheduled image of {SERVER_ID} "
        "deletes no images."
    ]


class _Images:
    def __init__(self, found):
        self.found = found
        self.calls = 0

    def list_for_server(self, server_id):
        self.calls += 1
        return self.found


@settings(max_examples=200, deadline=None)
@given(
    days=st.lists(st.integers(1, 28), max_size=12, unique=True),
    marked=st.lists(st.booleans(), min_size=12, max_size=12),
    current=st.integers(1, 15),
    wanted=st.integers(1, 15),
)
def test_the_warning_names_what_image_list_forecasts(
    days, marked, current, wanted
):
    found = [
        glance_image(image_id(day), day, marked=flag)
        for day, flag in zip(days, marked, strict=False)
    ]
    images = _Images(found)
    lines = actions.lowering_forecast(
        lambda: images,
        SERVER_ID,
        "myserver",
        domain.Schedule(current),
        domain.Schedule(wanted),
    )
    if wanted >= current:
        assert (lines, images.calls) == ([], 0)
        return
    named = {line.split()[0] for line in lines[1:]}
    rows = domain.image_rows(found, SERVER_ID, wanted)
    assert named == {row.id for row in rows if row.deleted_at_next_run}
