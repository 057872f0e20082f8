"""``openstack server image schedule check --prometheus-file``, in-process
with Keystone, Nova and the Image API mocked: the file next to the
check's output, and what an unwritable path makes of the check."""

from __future__ import annotations

import os
import pathlib
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rax_scheduled_images_python_novaclient_ext.config import NOW_ENV

from ..conftest import AUTH_URL, IMAGE, glance_image
from .conftest import COMPUTE, SERVER_ID, WEB1

NOW = "2026-11-10T12:00:00Z"
CHECK = ("server", "image", "schedule", "check")
NAME = 'db "prod" \\ east\nété'
UNKNOWN = "SCHEDULED IMAGES UNKNOWN - Cannot write the Prometheus file "


@pytest.fixture(autouse=True)
def now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NOW_ENV, NOW)


def one_server_and_a_stranger(mock: Any) -> None:
    """A scheduled server with a user's odd name, two ACTIVE images and a
    failed one; and a server without a schedule."""
    mock.get(
        f"{COMPUTE}/servers/detail",
        json={
            "servers": [
                {
                    "id": SERVER_ID,
                    "name": NAME,
                    "OS-SI:image_schedule": {"retention": 3},
                },
                {"id": WEB1, "name": "scratch"},
            ]
        },
    )
    mock.get(
        f"{IMAGE}/v2/images?instance_uuid={SERVER_ID}&limit=1000",
        json={
            "images": [
                dict(glance_image("a1", 10), size=2048),
                dict(glance_image("a0", 9), size=1024),
                dict(glance_image("f1", 8), status="killed", size=None),
            ]
        },
    )


def parsed(path: pathlib.Path) -> dict[tuple[str, Any], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(
            path.read_text(encoding="utf-8")
        )
        for sample in family.samples
    }


def test_check_writes_the_file_and_prints_what_it_did(
    openstack: Any, mock: Any, tmp_path: pathlib.Path
) -> None:
    one_server_and_a_stranger(mock)
    plain = openstack(*CHECK)
    path = tmp_path / "scheduled_images.prom"
    result = openstack(*CHECK, "--prometheus-file", str(path))
    assert (result.code, result.out) == (plain.code, plain.out)
    found = parsed(path)
    (region,) = {
        dict(labels)["region"]
        for name, labels in found
        if name == "scheduled_images_read_success"
    }
    server = (
        ("region", region),
        ("server_id", SERVER_ID),
        ("server_name", NAME),
    )

    def value(name: str, *extra: tuple[str, str]) -> float:
        return found[
            ("scheduled_images_" + name, tuple(sorted(server + extra)))
        ]

    assert value("last_image_timestamp_seconds") == 1794279845.0
    assert value("retention") == 3
    assert value("images", ("kind", "counted")) == 2
    assert value("images", ("kind", "failed")) == 1
    assert value("size_bytes") == 3072
    assert value("state", ("state", "failed-images")) == 1
    assert found[("scheduled_images_read_success", (("region", region),))]
    unscheduled = (
        "scheduled_images_unscheduled_servers",
        (("region", region),),
    )
    assert found[unscheduled] == 1
    # No sample for the unscheduled server itself.
    assert not [labels for _, labels in found if ("server_id", WEB1) in labels]


def test_a_failed_login_writes_read_success_0(
    openstack: Any, mock: Any, tmp_path: pathlib.Path
) -> None:
    mock.post(
        AUTH_URL + "/auth/tokens",
        status_code=401,
        json={"error": {"code": 401, "message": "Bad password"}},
    )
    path = tmp_path / "scheduled_images.prom"
    result = openstack(*CHECK, "--prometheus-file", str(path))
    assert result.code == 3
    assert result.out.startswith("SCHEDULED IMAGES UNKNOWN - Unauthorized: ")
    found = parsed(path)
    assert found[("scheduled_images_read_success", (("region", ""),))] == 0
    assert sorted(name for name, _ in found) == [
        "scheduled_images_read_duration_seconds",
        "scheduled_images_read_success",
        "scheduled_images_read_timestamp_seconds",
    ]


@pytest.mark.parametrize("how", ["missing directory", "a directory"])
def test_an_unwritable_path_is_unknown_with_the_check_after_it(
    openstack: Any, mock: Any, tmp_path: pathlib.Path, how: str
) -> None:
    one_server_and_a_stranger(mock)
    plain = openstack(*CHECK)
    if how == "a directory":
        path = tmp_path / "x.prom"
        path.mkdir()
        reason = "Is a directory"
    else:
        path = tmp_path / "nowhere" / "x.prom"
        reason = "No such file or directory"
    result = openstack(*CHECK, "--prometheus-file", str(path))
    assert result.code == 3
    assert result.out.splitlines() == [
        f"{UNKNOWN}'{path}': {reason}",
        *plain.out.splitlines(),
    ]
    assert sorted(os.listdir(tmp_path)) == (
        ["x.prom"] if how == "a directory" else []
    )


def test_a_refused_replace_keeps_the_old_file(
    openstack: Any,
    mock: Any,
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No permission to replace it (root ignores chmod, so the refusal is
    # made here): UNKNOWN, and the old file is whole, the new one gone.
    one_server_and_a_stranger(mock)
    path = tmp_path / "scheduled_images.prom"
    path.write_text("# the old file\n", encoding="utf-8")

    def refuse(source: str, target: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "rename", refuse)
    monkeypatch.setattr(os, "replace", refuse)
    result = openstack(*CHECK, "--prometheus-file", str(path))
    assert result.code == 3
    assert result.out.splitlines()[0] == (
        f"{UNKNOWN}'{path}': Permission denied"
    )
    assert path.read_text(encoding="utf-8") == "# the old file\n"
    assert os.listdir(tmp_path) == ["scheduled_images.prom"]


def test_an_empty_path_is_a_bad_argument_before_any_request(
    openstack: Any, mock: Any
) -> None:
    result = openstack(*CHECK, "--prometheus-file", "")
    assert result.code == 3
    assert result.out == (
        "SCHEDULED IMAGES UNKNOWN - --prometheus-file needs a path.\n"
    )
    assert not [r for r in mock.request_history if "compute" in r.url]


def test_a_region_the_catalog_lacks_writes_read_success_0(
    openstack: Any, mock: Any, tmp_path: pathlib.Path
) -> None:
    path = tmp_path / "scheduled_images.prom"
    plain = openstack(*CHECK, "--region", "NOWHERE")
    result = openstack(
        *CHECK, "--region", "NOWHERE", "--prometheus-file", str(path)
    )
    assert (result.code, result.out) == (plain.code, plain.out)
    assert result.code == 3
    found = parsed(path)
    assert found[("scheduled_images_read_success", (("region", ""),))] == 0
    assert not [r for r in mock.request_history if "compute" in r.url]
