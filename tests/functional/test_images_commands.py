"""Managing the scheduled images with the installed ``nova``, end to end.

The sandbox's scheduler is the service's stand-in and prunes by its own
copy of the rule; these tests check that what ``image-list`` says the next
run deletes is exactly what the next run deletes, and that kept images
survive any number of runs.
"""

from __future__ import annotations

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox.model import (
    MYSERVER_ID,
)

from .conftest import clean_env, run_command

pytestmark = pytest.mark.functional

MARKER = "org.openstack__1__created_by"


@pytest.fixture
def nova(cloud, cache_dir):
    def run(*argv):
        env = clean_env(**cloud.env(), NOVACLIENT_UUID_CACHE_DIR=cache_dir)
        return run_command(["nova", *argv], env)

    return run


def table_rows(output):
    """The data rows of a novaclient table, as lists of cell texts."""
    rows = []
    for line in output.splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]  # without the header


def images_of(cloud, server_id):
    with cloud.lock:
        return {
            image.id: dict(image.properties)
            for image in cloud.state.images.values()
            if image.properties.get("instance_uuid") == server_id
        }


def test_image_list_predicts_exactly_what_the_next_run_deletes(nova, cloud):
    assert nova("scheduled-images-enable", "myserver", "3").code == 0
    cloud.tick(days=5)  # five daily images, pruned to three

    listed = nova("scheduled-images-image-list", "myserver")
    assert listed.code == 0, listed
    rows = table_rows(listed.out)
    assert len(rows) == 3
    assert all(row[4] == "yes" for row in rows)  # all counted
    doomed = {row[0] for row in rows if row[5] == "yes"}
    assert len(doomed) == 1  # retention 3: the next image takes a slot

    before = set(images_of(cloud, MYSERVER_ID))
    cloud.tick(days=1)
    after = set(images_of(cloud, MYSERVER_ID))
    assert before - after == doomed


def test_kept_images_survive_any_number_of_runs(nova, cloud):
    assert nova("scheduled-images-enable", "myserver", "2").code == 0
    cloud.tick(days=2)
    rows = table_rows(nova("scheduled-images-image-list", "myserver").out)
    oldest = rows[0][0]

    kept = nova("scheduled-images-image-keep", oldest)
    assert kept.code == 0, kept
    assert kept.out.startswith(f"Kept image {oldest} ")
    assert MARKER not in images_of(cloud, MYSERVER_ID)[oldest]
    again = nova("scheduled-images-image-keep", oldest)
    assert again.code == 0
    assert "already kept" in again.out

    cloud.tick(days=6)
    images = images_of(cloud, MYSERVER_ID)
    assert oldest in images
    counted = [i for i, props in images.items() if MARKER in props]
    assert len(counted) == 2  # the retention, not counting the kept one

    rows = table_rows(nova("scheduled-images-image-list", "myserver").out)
    kept_row = next(row for row in rows if row[0] == oldest)
    assert (kept_row[4], kept_row[5]) == ("no", "no")


def test_release_says_what_goes_and_the_next_run_agrees(nova, cloud):
    assert nova("scheduled-images-enable", "myserver", "2").code == 0
    cloud.tick(days=1)
    first = next(iter(images_of(cloud, MYSERVER_ID)))
    assert nova("scheduled-images-image-keep", first).code == 0
    cloud.tick(days=3)

    released = nova("scheduled-images-image-release", first)
    assert released.code == 0, released
    said = {
        line.split()[0]
        for line in released.out.splitlines()
        if line.startswith("  ")
    }
    assert first in said
    assert MARKER in images_of(cloud, MYSERVER_ID)[first]

    before = set(images_of(cloud, MYSERVER_ID))
    cloud.tick(days=1)
    after = set(images_of(cloud, MYSERVER_ID))
    assert before - after == said


def test_every_schedule_at_once(nova, cloud):
    assert (
        nova(
            "scheduled-images-enable", "--day-of-week", "sat", "myserver", "4"
        ).code
        == 0
    )
    listed = nova("scheduled-images-list")
    assert listed.code == 0, listed
    rows = {row[0]: row for row in table_rows(listed.out)}
    assert rows[MYSERVER_ID] == [
        MYSERVER_ID,
        "myserver",
        "Weekly",
        "SATURDAY",
        "4",
    ]
    assert "3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69" in rows  # db, seeded
    assert len(rows) == 2

    everything = nova("scheduled-images-list", "--all-servers")
    assert len(table_rows(everything.out)) == 4  # demo's four servers
