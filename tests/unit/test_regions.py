"""regions.py: choosing regions, reading them at once, merging the rows
with the failures kept beside them."""

from __future__ import annotations

import argparse
import threading
import time
import types

import pytest
from novaclient import exceptions

from rax_scheduled_images_python_novaclient_ext import regions
from rax_scheduled_images_python_novaclient_ext.errors import NoSchedule

CATALOG = ["DFW", "ORD", "IAD"]


def test_all_regions_are_the_catalogs_in_its_order():
    assert regions.choose(CATALOG, True, []) == CATALOG


def test_named_regions_are_read_as_named_each_once():
    assert regions.choose(CATALOG, False, ["IAD", "DFW", "IAD"]) == [
        "IAD",
        "DFW",
    ]


def test_an_unknown_region_names_the_catalogs():
    with pytest.raises(regions.RegionError) as caught:
        regions.choose(CATALOG, False, ["DFW", "LON"])
    assert str(caught.value) == (
        "No region LON in the catalog; its regions with a compute "
        "endpoint: DFW, ORD, IAD."
    )


def test_a_catalog_without_regions_is_refused_for_all_regions():
    with pytest.raises(regions.RegionError):
        regions.choose([], True, [])


def test_compute_regions_keep_the_catalog_order_once_each():
    endpoints = [
        types.SimpleNamespace(region_name=name)
        for name in ("ORD", "DFW", "ORD", None, "IAD")
    ]
    assert regions.compute_regions(endpoints) == ["ORD", "DFW", "IAD"]


def test_merge_puts_the_region_first_and_keeps_failures_in_order():
    results = [
        regions.RegionResult("DFW", [("a", 1), ("b", 2)]),
        regions.RegionResult("ORD", error="HTTP 503"),
        regions.RegionResult("IAD", [("c", 3)]),
        regions.RegionResult("LON", error="timed out"),
    ]
    rows, failed = regions.merge_rows(results, with_region=True)
    assert rows == [("DFW", "a", 1), ("DFW", "b", 2), ("IAD", "c", 3)]
    assert [f.region for f in failed] == ["ORD", "LON"]
    assert regions.failure_line(failed[0]) == (
        "Region ORD could not be read: HTTP 503"
    )
    rows, _ = regions.merge_rows(results[:1], with_region=False)
    assert rows == [("a", 1), ("b", 2)]


def test_region_column_is_a_key_for_programs_and_a_title_for_people():
    assert regions.with_region_column(("id",), True) == ("region", "id")
    assert regions.with_region_column(("ID",), False) == ("Region", "ID")


def test_read_each_runs_the_regions_at_the_same_time_and_keeps_errors():
    barrier = threading.Barrier(3, timeout=5)

    def read(name: str) -> str:
        # Each read waits for the other two: only a concurrent read of
        # all three gets past it.
        barrier.wait()
        if name == "ORD":
            raise exceptions.ClientException(503, "Service Unavailable")
        return name.lower()

    results = regions.read_each(CATALOG, read, lambda name: name)
    assert [(r.region, r.value) for r in results] == [
        ("DFW", "dfw"),
        ("ORD", None),
        ("IAD", "iad"),
    ]
    assert results[1].error == (
        "ClientException: Service Unavailable (HTTP 503)"
    )


def test_a_generic_404_means_no_scheduled_images_service():
    assert regions.describe(exceptions.NotFound(404, "Not Found")) == (
        "no Scheduled Images service under either alias (HTTP 404)"
    )
    # The extension's own 404s are not that.
    assert "either alias" not in regions.describe(NoSchedule("s1"))


def test_a_refusal_is_its_own_words():
    error = regions.RegionError("No region LON in the catalog.")
    assert regions.describe(error) == "No region LON in the catalog."


def test_a_region_still_reading_at_the_timeout_is_kept_as_a_failure():
    released = threading.Event()

    def read(name: str) -> str:
        if name == "ORD":
            released.wait(10)
        return name.lower()

    try:
        results = regions.read_each(CATALOG, read, lambda n: n, timeout=0.3)
    finally:
        released.set()
    assert [(r.region, r.value, r.error) for r in results] == [
        ("DFW", "dfw", None),
        ("ORD", None, "no answer within 0.3 s"),
        ("IAD", "iad", None),
    ]


def test_at_most_parallel_regions_are_read_at_once():
    running, most = [0], [0]
    lock = threading.Lock()

    def read(name: str) -> str:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return name

    regions.read_each(CATALOG * 3, read, lambda n: n, parallel=2)
    assert most[0] == 2


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf", "nan"])
def test_a_timeout_must_be_seconds_above_zero(value):
    with pytest.raises(argparse.ArgumentTypeError):
        regions.parse_timeout(value)
    assert regions.parse_timeout("2.5") == 2.5


@pytest.mark.parametrize("text", ["0", "-1", "x", "inf", "nan", ""])
def test_region_timeout_is_seconds_above_zero(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        regions.parse_timeout(text)
    assert str(raised.value) == (
        f"invalid timeout '{text}': it must be a number of seconds above 0."
    )
    assert regions.parse_timeout("2.5") == 2.5
