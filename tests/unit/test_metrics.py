"""The Prometheus view of a health read (metrics.py): the samples from
hand-built reads, the file as prometheus_client parses it back, and the
atomic write."""

from __future__ import annotations

import datetime
import os
import pathlib
import subprocess
import sys
from collections.abc import Sequence

import pytest
from prometheus_client.parser import text_string_to_metric_families

from rax_scheduled_images_python_novaclient_ext import fleet, health, metrics
from rax_scheduled_images_python_novaclient_ext import schedule as domain

UTC = datetime.timezone.utc
CREATED = datetime.datetime(2026, 11, 10, 3, 4, 5, tzinfo=UTC)
STARTED = 1_794_312_000.5
# A name a user may give a server: quotes, backslashes, a newline and
# non-ASCII must all come back as they were.
ODD_NAME = 'we"b\\1\nété ☕'


def region_read(
    region: str | None,
    rows: list[health.ServerHealth] | None = None,
    unscheduled: list[health.ServerHealth] | None = None,
    error: str | None = None,
) -> fleet.RegionRead:
    """A region's read as the check hands it over."""
    return fleet.RegionRead(
        region, "100001", rows or [], unscheduled or [], error
    )


def row(
    server_id: str,
    name: str,
    *,
    last: datetime.datetime | None = CREATED,
    retention: int | None = 7,
    counted: int = 3,
    failed: int = 1,
    kept: int | None = 2,
    size: int = 3 * 1024**3,
    state: str | None = health.OK,
) -> health.ServerHealth:
    schedule = None if retention is None else domain.Schedule(retention)
    return health.ServerHealth(
        server_id=server_id,
        server_name=name,
        schedule=schedule,
        last=None if last is None else health.LastImage("i1", "Daily", last),
        age=None,
        counted=counted,
        failed=failed,
        kept=kept,
        size=size,
        state=state,
        reason="",
    )


def parsed(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the file by (name, sorted labels), as Prometheus
    reads it."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def written(
    tmp_path: pathlib.Path, reads: Sequence[metrics.RegionReadLike]
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    path = tmp_path / "scheduled_images.prom"
    metrics.write(str(path), reads, STARTED, 2.25)
    return parsed(path.read_text(encoding="utf-8"))


def key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return (metrics.PREFIX + name, tuple(sorted(labels.items())))


def test_a_read_becomes_every_named_sample(tmp_path: pathlib.Path) -> None:
    reads = [
        region_read(
            "DFW",
            rows=[
                row("s-1", ODD_NAME),
                row(
                    "s-2",
                    "db",
                    last=None,
                    counted=0,
                    failed=2,
                    kept=None,
                    size=0,
                    state=health.NO_IMAGES,
                ),
            ],
            unscheduled=[row("s-3", "scratch", retention=None, state=None)],
        )
    ]
    odd = {"region": "DFW", "server_id": "s-1", "server_name": ODD_NAME}
    db = {"region": "DFW", "server_id": "s-2", "server_name": "db"}
    assert written(tmp_path, reads) == {
        key("last_image_timestamp_seconds", **odd): CREATED.timestamp(),
        key("retention", **odd): 7.0,
        key("retention", **db): 7.0,
        key("images", kind="counted", **odd): 3.0,
        key("images", kind="failed", **odd): 1.0,
        key("images", kind="kept", **odd): 2.0,
        key("images", kind="counted", **db): 0.0,
        key("images", kind="failed", **db): 2.0,
        key("size_bytes", **odd): float(3 * 1024**3),
        key("size_bytes", **db): 0.0,
        key("state", state="ok", **odd): 1.0,
        key("state", state="no-images", **db): 1.0,
        key("unscheduled_servers", region="DFW"): 1.0,
        key("read_success", region="DFW"): 1.0,
        key("read_timestamp_seconds"): STARTED,
        key("read_duration_seconds"): 2.25,
    }


def test_a_failed_region_has_read_success_0_and_no_server_sample(
    tmp_path: pathlib.Path,
) -> None:
    reads = [
        region_read("DFW", rows=[row("s-1", "web")]),
        region_read(
            "ORD",
            rows=[row("s-9", "stale")],
            unscheduled=[row("s-8", "x", retention=None, state=None)],
            error="ConnectFailure: Unable to establish connection",
        ),
    ]
    found = written(tmp_path, reads)
    assert found[key("read_success", region="DFW")] == 1.0
    assert found[key("read_success", region="ORD")] == 0.0
    ord_samples = [
        (name, labels) for name, labels in found if ("region", "ORD") in labels
    ]
    assert ord_samples == [key("read_success", region="ORD")]
    assert key("unscheduled_servers", region="DFW") in found


def test_a_server_without_an_active_image_has_no_last_image_sample() -> None:
    found = metrics.samples(
        [region_read(None, rows=[row("s-1", "new", last=None, counted=0)])],
        STARTED,
        0.1,
    )
    names = [sample.family.name for sample in found]
    assert metrics.LAST_IMAGE.name not in names
    assert metrics.RETENTION.name in names


def test_the_one_region_of_a_login_is_the_empty_label() -> None:
    found = metrics.samples([region_read(None)], STARTED, 0.1)
    assert [(s.family.name, s.labels, s.value) for s in found] == [
        (metrics.UNSCHEDULED.name, ("",), 0.0),
        (metrics.READ_SUCCESS.name, ("",), 1.0),
        (metrics.READ_TIMESTAMP.name, (), STARTED),
        (metrics.READ_DURATION.name, (), 0.1),
    ]


def test_a_failed_login_is_a_failed_read(tmp_path: pathlib.Path) -> None:
    found = written(tmp_path, [region_read(None, error="Unauthorized")])
    assert found == {
        key("read_success", region=""): 0.0,
        key("read_timestamp_seconds"): STARTED,
        key("read_duration_seconds"): 2.25,
    }


def test_every_family_has_help_and_type_even_without_samples(
    tmp_path: pathlib.Path,
) -> None:
    path = tmp_path / "x.prom"
    metrics.write(str(path), [], STARTED, 0.0)
    text = path.read_text(encoding="utf-8")
    for family in metrics.FAMILIES:
        assert f"# TYPE {family.name} gauge\n" in text


def test_the_file_replaces_the_old_one_whole(tmp_path: pathlib.Path) -> None:
    # A reader that opened the old file keeps reading the old file, whole;
    # the next open gets the new one: the write is a rename, never an
    # overwrite in place.
    path = tmp_path / "scheduled_images.prom"
    path.write_text("# the old file\n", encoding="utf-8")
    with open(path, encoding="utf-8") as reader:
        metrics.write(str(path), [region_read("DFW")], STARTED, 1.0)
        assert reader.read() == "# the old file\n"
    assert "scheduled_images_read_success" in path.read_text("utf-8")
    assert sorted(os.listdir(tmp_path)) == ["scheduled_images.prom"]


def _unwritable(tmp_path: pathlib.Path, how: str) -> pathlib.Path:
    if how == "missing directory":
        return tmp_path / "no-such-dir" / "x.prom"
    if how == "a directory":
        (tmp_path / "x.prom").mkdir()
        return tmp_path / "x.prom"
    (tmp_path / "file").write_text("", encoding="utf-8")
    return tmp_path / "file" / "x.prom"


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ("missing directory", "No such file or directory"),
        ("a directory", "Is a directory"),
        ("under a file", "Not a directory"),
    ],
)
def test_an_unwritable_path_is_an_error_that_leaves_nothing(
    tmp_path: pathlib.Path, how: str, reason: str
) -> None:
    path = _unwritable(tmp_path, how)
    before = sorted(os.listdir(tmp_path))
    with pytest.raises(metrics.MetricsFileError) as raised:
        metrics.write(str(path), [region_read("DFW")], STARTED, 1.0)
    assert str(raised.value) == (
        f"Cannot write the Prometheus file '{path}': {reason}"
    )
    assert sorted(os.listdir(tmp_path)) == before


def test_a_refused_rename_keeps_the_old_file(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No permission to replace the file (as root, chmod cannot show it):
    # the old file stays, the temporary one is removed.
    path = tmp_path / "scheduled_images.prom"
    path.write_text("old\n", encoding="utf-8")

    def refuse(source: str, target: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "rename", refuse)
    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(metrics.MetricsFileError) as raised:
        metrics.write(str(path), [region_read("DFW")], STARTED, 1.0)
    assert str(raised.value).endswith(": Permission denied")
    assert path.read_text(encoding="utf-8") == "old\n"
    assert os.listdir(tmp_path) == ["scheduled_images.prom"]


def test_samples_import_no_prometheus_client() -> None:
    # The pure part is free: only writing the file loads the library;
    # nova, which has no such option, never does.
    code = (
        "import sys\n"
        "import rax_scheduled_images_python_novaclient_ext.novaclient_ext\n"
        "import rax_scheduled_images_python_novaclient_ext.nova.health\n"
        "from rax_scheduled_images_python_novaclient_ext import metrics\n"
        "metrics.samples([], 0.0, 0.0)\n"
        "print('prometheus_client' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "False\n"
