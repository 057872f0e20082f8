"""``nova scheduled-images-orphan-list`` and ``-orphan-purge``, in-process.

What a user sees (stdout, stderr, exit code) and the requests sent.
"""

from __future__ import annotations

from .conftest import IMAGE
from .orphan_cloud import (
    GONE,
    LIVE,
    MARKED_QUERY,
    deletes,
    orphan,
    serve,
    two_regions,
)


def test_orphan_list_prints_the_images_of_deleted_servers_and_a_total(
    nova, mock
):
    serve(mock, [orphan("g2", 2), orphan("l1", 1, LIVE), orphan("g1", 1)])
    result = nova("scheduled-images-orphan-list")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[1].split("|")[1:-1] == [
        " ID ",
        " Name         ",
        " Server                               ",
        " Created              ",
        " Status ",
        " Size       ",
        " Counted ",
    ]
    assert [line.split("|")[1].strip() for line in lines[3:5]] == [
        "g1",
        "g2",
    ]
    assert GONE in lines[3] and "1073741824" in lines[3] and "yes" in lines[3]
    assert lines[-1] == "Total: 2 images, 2147483648 bytes (2.0 GiB)"
    assert any(r.path_url == MARKED_QUERY for r in mock.request_history)
    assert deletes(mock) == []


def test_orphan_purge_without_yes_is_a_dry_run(nova, mock):
    serve(mock, [orphan("g1", 1), orphan("g2", 2)])
    result = nova("scheduled-images-orphan-purge")
    assert result.code == 0
    assert result.out.splitlines() == [
        "Would delete: 1 image, 1073741824 bytes (1.0 GiB)",
        f"  g1  Daily-gone-1  server {GONE}  2026-11-01T03:00:00Z  "
        "1073741824 bytes (1.0 GiB)",
    ]
    assert result.error_lines == [
        f"Keeping image g2 of server {GONE}: the newest active image of "
        "its server.",
        "Dry run: nothing deleted. Add --yes to delete.",
    ]
    assert deletes(mock) == []


def test_orphan_purge_yes_keep_0_deletes_all_and_exit_1_on_a_failure(
    nova, mock
):
    serve(mock, [orphan("g1", 1), orphan("g2", 2), orphan("g3", 3)])
    mock.delete(f"{IMAGE}/v2/images/g1", status_code=204)
    mock.delete(
        f"{IMAGE}/v2/images/g2", status_code=500, json={"message": "boom"}
    )
    mock.delete(f"{IMAGE}/v2/images/g3", status_code=204)
    result = nova(
        "scheduled-images-orphan-purge", "--yes", "--keep", "0",
        "--concurrency", "1",
    )  # fmt: skip
    assert result.code == 1
    assert result.out.splitlines()[-2:] == [
        "Deleted image g1 (Daily-gone-1).",
        "Deleted image g3 (Daily-gone-3).",
    ]
    assert result.error_lines == [
        "Could not delete image g2 (Daily-gone-2): boom (HTTP 500)",
        "ERROR (CommandError): 1 of 3 images could not be deleted.",
    ]
    assert deletes(mock) == [
        "/v2/images/g1",
        "/v2/images/g2",
        "/v2/images/g3",
    ]


def test_orphan_purge_refuses_endpoints_in_different_regions(nova, mock):
    two_regions(mock)
    serve(mock, [orphan("g1", 1)])
    result = nova("scheduled-images-orphan-purge", "--yes", "--keep", "0")
    assert result.code == 1
    assert result.error_lines == [
        "ERROR (CommandError): The compute endpoint is in region RegionTwo "
        "and the image endpoint in region RegionOne: every server would "
        "look deleted. Choose one region (--os-region-name or "
        "OS_REGION_NAME) and run again."
    ]
    assert result.out == ""
    assert not [r for r in mock.request_history if "images" in r.path]


def test_orphan_purge_refuses_a_negative_keep(nova, mock):
    result = nova("scheduled-images-orphan-purge", "--keep", "-1")
    assert result.code == 2
    assert "invalid count '-1'" in result.err
