"""flavors.py: flavors with disks (0 boots from a volume), listed with
their details and shown one by one."""

from __future__ import annotations

from .conftest import Client, fault


def test_flavors_have_disks_of_0_20_40_and_80(demo: Client) -> None:
    for path in ("/flavors", "/flavors/detail"):
        flavors = demo.get(demo.compute + path).json()["flavors"]
        assert {0, 20, 40, 80} <= {f["disk"] for f in flavors}
        for flavor in flavors:
            assert {"id", "name", "ram", "vcpus", "disk"} <= set(flavor)


def test_a_flavor_is_shown_with_its_disk(demo: Client) -> None:
    flavor = demo.get(f"{demo.compute}/flavors/compute1-4").json()["flavor"]
    assert (flavor["id"], flavor["disk"], flavor["ram"], flavor["vcpus"]) == (
        "compute1-4",
        0,
        3840,
        2,
    )
    assert fault(demo.get(f"{demo.compute}/flavors/nope")) == (
        404,
        "itemNotFound",
        "Flavor nope could not be found.",
    )
