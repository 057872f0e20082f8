"""The fan-out every multi-server command shares (osc/common.py)."""

from __future__ import annotations

import threading
import time

import pytest
from novaclient import exceptions as nova_exceptions
from osc_lib import exceptions
from osc_lib.test import fakes

from rax_scheduled_images_python_novaclient_ext.osc import common


class Streams:
    def __init__(self) -> None:
        self.stdout = fakes.FakeStdout()
        self.stderr = fakes.FakeStdout()


def test_for_each_is_bounded_and_reports_in_the_order_given():
    # requests-mock serialises requests, so the bound is measured here,
    # on the pool itself.
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def action(item: str) -> str:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        # The first item is the slowest: the report still starts with it.
        time.sleep(0.08 if item == "a" else 0.02)
        with lock:
            state["now"] -= 1
        return item.upper()

    app = Streams()
    common.for_each(app, ["a", "b", "c", "d", "e"], action, str, 3, "thing")
    assert state["most"] == 3
    assert app.stdout.make_string() == "a: A\nb: B\nc: C\nd: D\ne: E\n"
    assert app.stderr.make_string() == ""


def test_for_each_failure_does_not_stop_the_others():
    done = []

    def action(item: str) -> str:
        if item == "b":
            raise RuntimeError("broken\non two lines")
        done.append(item)
        return "ok"

    app = Streams()
    with pytest.raises(exceptions.CommandError) as caught:
        common.for_each(app, ["a", "b", "c"], action, str, 8, "server")
    assert str(caught.value) == "1 of 3 servers failed."
    assert sorted(done) == ["a", "c"]
    assert app.stdout.make_string() == "a: ok\nc: ok\n"
    assert app.stderr.make_string() == "b: broken on two lines\n"


def test_check_server_names_keeps_order_and_drops_repeats():
    assert common.check_server_names(["b", "a", "b"]) == ["b", "a"]


@pytest.mark.parametrize("name", ["", "   "])
def test_check_server_names_refuses_empty_names(name):
    # actions.require_name's error; the command boundary makes it
    # osc-lib's.
    with pytest.raises(nova_exceptions.CommandError):
        common.check_server_names(["web1", name])
