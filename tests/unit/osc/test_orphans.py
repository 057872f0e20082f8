"""``openstack scheduled image list --orphaned`` and ``... purge``."""

from __future__ import annotations

import json

import pytest

from ..conftest import IMAGE
from ..orphan_cloud import (
    GONE,
    LIVE,
    deletes,
    orphan,
    serve,
    two_regions,
)


def test_list_orphaned_json_keys_and_values(openstack, mock):
    serve(
        mock,
        [orphan("g1", 1, size=None), orphan("k1", 2, marked=False)]
        + [orphan("l1", 1, LIVE)],
    )
    result = openstack(
        "scheduled", "image", "list", "--orphaned", "--include-kept",
        "-f", "json",
    )  # fmt: skip
    assert result.code == 0, result.err
    assert json.loads(result.out) == [
        {
            "id": "g1",
            "name": "Daily-gone-1",
            "server_id": GONE,
            "created_at": "2026-11-01T03:00:00Z",
            "status": "active",
            "size_bytes": None,
            "counted": "yes",
        },
        {
            "id": "k1",
            "name": "Daily-gone-2",
            "server_id": GONE,
            "created_at": "2026-11-02T03:00:00Z",
            "status": "active",
            "size_bytes": 1073741824,
            "counted": "no",
        },
    ]
    assert result.error_lines == [
        "Total: 2 images, 1073741824 bytes (1.0 GiB)"
    ]
    assert any(
        r.path_url == "/v2/images?owner=p1&limit=1000"
        for r in mock.request_history
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        # 1.1.0: exit 1, where the README gives 2 for usage errors.
        (
            ["--orphaned", "--server", "x"],
            "argument --server: not allowed with argument --orphaned",
        ),
        # 1.1.0: silently ignored, the server's images listed.
        (
            ["--include-kept", "--server", "x"],
            "argument --include-kept: only with --orphaned",
        ),
        (["--include-kept"], "argument --include-kept: only with --orphaned"),
    ],
)
def test_list_usage_errors_exit_2_and_send_nothing(
    openstack, mock, argv, message
):
    result = openstack("scheduled", "image", "list", *argv)
    assert (result.code, result.out) == (2, "")
    assert result.error_lines[-1] == (
        f"openstack scheduled image list: error: {message}"
    )
    assert [r for r in mock.request_history if "identity" not in r.url] == []


def test_purge_dry_run_then_yes(openstack, mock):
    serve(mock, [orphan("g1", 1), orphan("g2", 2)])
    mock.delete(f"{IMAGE}/v2/images/g1", status_code=204)
    dry = openstack("scheduled", "image", "purge")
    assert dry.code == 0
    assert dry.out.splitlines()[0] == (
        "Would delete: 1 image, 1073741824 bytes (1.0 GiB)"
    )
    assert deletes(mock) == []
    done = openstack("scheduled", "image", "purge", "--yes")
    assert done.code == 0, done.err
    assert done.out.splitlines() == [
        "Deleting: 1 image, 1073741824 bytes (1.0 GiB)",
        f"  g1  Daily-gone-1  server {GONE}  2026-11-01T03:00:00Z  "
        "1073741824 bytes (1.0 GiB)",
        "Deleted image g1 (Daily-gone-1).",
    ]
    assert deletes(mock) == ["/v2/images/g1"]


def test_purge_failure_exits_1(openstack, mock):
    serve(mock, [orphan("g1", 1)])
    mock.delete(f"{IMAGE}/v2/images/g1", status_code=403, json={})
    result = openstack("scheduled", "image", "purge", "--yes", "--keep", "0")
    assert result.code == 1
    assert result.error_lines[-1] == "1 of 1 images could not be deleted."


def test_purge_refuses_two_regions(openstack, mock):
    two_regions(mock)
    serve(mock, [orphan("g1", 1)])
    result = openstack("scheduled", "image", "purge", "--yes")
    assert result.code == 1
    assert result.error_lines == [
        "The compute endpoint is in region RegionTwo and the image "
        "endpoint in region RegionOne: every server would look deleted. "
        "Choose one region (--os-region-name or OS_REGION_NAME) and run "
        "again."
    ]
    assert deletes(mock) == []


def test_list_orphaned_value_shows_a_missing_size_blank(openstack, mock):
    serve(mock, [orphan("g1", 1, size=None)])
    result = openstack(
        "scheduled", "image", "list", "--orphaned", "-f", "value"
    )  # fmt: skip
    assert result.code == 0, result.err
    assert result.out == (
        f"g1 Daily-gone-1 {GONE} 2026-11-01T03:00:00Z active  yes\n"
    )
