"""The fan-out both front ends share, and what Ctrl-C does to it (bulk.py).

Interrupts are driven without timing: either a real SIGINT raised in the
main thread from the report of item k (where the command would print),
or the ``stop`` event set by an action, with gates holding the others.
"""

from __future__ import annotations

import io
import os
import signal
import threading

import pytest

from rax_scheduled_images_python_novaclient_ext import bulk

ITEMS = [f"srv{n}" for n in range(1, 7)]


class Recorder:
    """An action that records what was started, and a report that
    records what was reported."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.reported: list[tuple[str, object, object]] = []
        self.lock = threading.Lock()

    def action(self, item: str) -> str:
        with self.lock:
            self.started.append(item)
        return item.upper()

    def report(self, item: str, result: object, error: object) -> None:
        self.reported.append((item, result, error))


def sigint_after(recorder: Recorder, count: int):
    """A report that raises a real SIGINT once ``count`` are reported."""

    def report(item: str, result: object, error: object) -> None:
        recorder.report(item, result, error)
        if len(recorder.reported) == count:
            signal.raise_signal(signal.SIGINT)

    return report


def test_sigint_stops_starting_and_names_what_was_not_started():
    recorder = Recorder()
    with pytest.raises(bulk.Interrupted) as caught:
        bulk.run(ITEMS, recorder.action, sigint_after(recorder, 2), 1)
    # One at a time: the SIGINT came after the second was reported.
    assert recorder.started == ["srv1", "srv2"]
    assert [item for item, _, _ in recorder.reported] == ["srv1", "srv2"]
    assert caught.value.line == (
        "Interrupted: 2 of 6 done; not started: srv3, srv4, srv5, srv6"
    )
    # It ends the command as Ctrl-C does.
    assert isinstance(caught.value, KeyboardInterrupt)
    # The handler is put back as it was.
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def second_handler_after_first_sigint(monkeypatch, now: list[float]):
    """Run a bulk change, send one real SIGINT from the first report, and
    return the SIGINT handler then in place; ``now`` is the clock."""
    monkeypatch.setattr(bulk, "_clock", lambda: now[0])
    seen = []

    def report(item: str, result: object, error: object) -> None:
        if item == "srv1":
            signal.raise_signal(signal.SIGINT)
            seen.append(signal.getsignal(signal.SIGINT))

    with pytest.raises(bulk.Interrupted):
        bulk.run(ITEMS, str.upper, report, 1)
    return seen[0]


def test_the_same_sigint_delivered_twice_still_reports(monkeypatch):
    # timeout -s INT signals the process and then its group: two SIGINTs
    # moments apart. The second must not kill the process unreported.
    now = [100.0]
    handler = second_handler_after_first_sigint(monkeypatch, now)
    assert callable(handler)
    raised = []
    monkeypatch.setattr(bulk.signal, "raise_signal", raised.append)
    now[0] += bulk.SAME_INTERRUPT_SECONDS / 2
    handler(signal.SIGINT, None)
    assert raised == []


def test_a_later_second_sigint_stops_the_waiting_and_a_third_is_ignored(
    monkeypatch,
):
    # 1.1.0 ended the process here (SIG_DFL and the signal raised again):
    # the deletions already made were never reported.
    now = [100.0]
    handler = second_handler_after_first_sigint(monkeypatch, now)
    raised = []
    monkeypatch.setattr(bulk.signal, "raise_signal", raised.append)
    now[0] += bulk.SAME_INTERRUPT_SECONDS
    handler(signal.SIGINT, None)
    handler(signal.SIGINT, None)
    assert raised == []


def test_a_second_sigint_reports_what_finished_and_what_may_have(
    monkeypatch,
):
    """srv1 hangs in flight; srv2 and srv3 answer behind it (out of
    order); then Ctrl-C twice, a second apart, and a third."""
    now = [100.0]
    monkeypatch.setattr(bulk, "_clock", lambda: now[0])
    stop = threading.Event()
    hang = threading.Event()
    srv2_done = threading.Event()
    recorder = Recorder()

    def action(item: str) -> str:
        recorder.action(item)
        if item == "srv1":
            hang.wait(30)
        elif item == "srv2":
            srv2_done.set()
        elif item == "srv3":
            srv2_done.wait(30)
            os.kill(os.getpid(), signal.SIGINT)
            assert stop.wait(30)
            now[0] += 1.0
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            if item == "srv3":
                raise RuntimeError("refused")
        return item.upper()

    err = io.StringIO()
    try:
        with pytest.raises(bulk.Interrupted) as caught:
            bulk.change_each(
                ITEMS, action, lambda i, r: f"{i}: {r}", str, 3,
                io.StringIO(), err, stop,
            )  # fmt: skip
    finally:
        hang.set()
    assert caught.value.line == (
        "Interrupted: 2 of 6 done; may have completed: srv1; not started: "
        "srv4, srv5, srv6"
    )
    assert err.getvalue().splitlines() == [
        "srv3: refused",
        caught.value.line,
    ]
    # The command is ending: a fourth Ctrl-C could only cut its exit short.
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


def test_items_in_flight_finish_and_are_reported_none_start_after():
    stop = threading.Event()
    started = []
    lock = threading.Lock()
    all_three_running = threading.Barrier(3)

    def action(item: str) -> str:
        with lock:
            started.append(item)
        all_three_running.wait()
        if item == "srv1":
            stop.set()  # Ctrl-C while srv2 and srv3 are in flight
        else:
            stop.wait()  # neither finishes before the stop
        return item.upper()

    recorder = Recorder()
    with pytest.raises(bulk.Interrupted) as caught:
        bulk.run(ITEMS, action, recorder.report, 3, stop=stop)
    assert sorted(started) == ["srv1", "srv2", "srv3"]
    assert recorder.reported == [
        ("srv1", "SRV1", None),
        ("srv2", "SRV2", None),
        ("srv3", "SRV3", None),
    ]
    assert caught.value.line == (
        "Interrupted: 3 of 6 done; not started: srv4, srv5, srv6"
    )


def test_a_change_not_yet_sent_at_the_stop_is_not_started():
    stop = threading.Event()
    changed = []

    def action(item: str) -> str:
        # Read first, as "set --retention" does; the stop comes between
        # the read of srv2 and its change.
        if item == "srv2":
            stop.set()
        return bulk.unless_stopped(changed.append)(item) or "ok"

    recorder = Recorder()
    with pytest.raises(bulk.Interrupted) as caught:
        bulk.run(ITEMS, action, recorder.report, 1, stop=stop)
    assert changed == ["srv1"]
    assert recorder.reported == [("srv1", "ok", None)]
    assert caught.value.line == (
        "Interrupted: 1 of 6 done; not started: srv2, srv3, srv4, srv5, srv6"
    )


def test_unless_stopped_outside_a_run_just_runs():
    assert bulk.unless_stopped(str.upper)("a") == "A"


def test_without_interrupt_all_are_reported_in_order_failures_included():
    def action(item: str) -> str:
        if item == "srv2":
            raise RuntimeError("refused")
        return item.upper()

    recorder = Recorder()
    bulk.run(ITEMS[:3], action, recorder.report, 3)
    assert [(i, r) for i, r, _ in recorder.reported] == [
        ("srv1", "SRV1"),
        ("srv2", None),
        ("srv3", "SRV3"),
    ]
    assert str(recorder.reported[1][2]) == "refused"


def test_long_list_of_not_started_is_shortened_and_counted():
    names = [f"s{n}" for n in range(25)]
    assert bulk.interrupted_line(3, 28, names) == (
        "Interrupted: 3 of 28 done; not started: "
        + ", ".join(names[:10])
        + " and 15 more"
    )
    assert bulk.interrupted_line(2, 2, []) == (
        "Interrupted: 2 of 2 done; not started: none"
    )


def test_change_each_reports_changed_items_then_the_interrupted_line():
    out, err = io.StringIO(), io.StringIO()
    stop = threading.Event()

    def action(item: str) -> str:
        if item == "srv3":
            raise RuntimeError("broken\non two lines")
        if item == "srv4":
            stop.set()
        return "done"

    with pytest.raises(bulk.Interrupted):
        bulk.change_each(
            ITEMS,
            action,
            lambda item, result: f"{item}: {result}",
            str,
            1,
            out,
            err,
            stop=stop,
        )
    assert out.getvalue() == "srv1: done\nsrv2: done\nsrv4: done\n"
    assert err.getvalue() == (
        "srv3: broken on two lines\n"
        "Interrupted: 4 of 6 done; not started: srv5, srv6\n"
    )


def test_change_each_single_failure_is_left_to_the_caller():
    out, err = io.StringIO(), io.StringIO()

    def action(item: str) -> str:
        raise RuntimeError("refused")

    failures = bulk.change_each(
        ["srv1"], action, lambda i, r: f"{i}: {r}", str, 8, out, err
    )
    assert [(item, str(error)) for item, error in failures] == [
        ("srv1", "refused")
    ]
    assert (out.getvalue(), err.getvalue()) == ("", "")


def test_change_each_single_failure_interrupted_still_says_it():
    out, err = io.StringIO(), io.StringIO()
    stop = threading.Event()

    def action(item: str) -> str:
        stop.set()
        raise RuntimeError("refused")

    with pytest.raises(bulk.Interrupted):
        bulk.change_each(["srv1"], action, str, str, 1, out, err, stop=stop)
    assert err.getvalue() == (
        "srv1: refused\nInterrupted: 1 of 1 done; not started: none\n"
    )


def test_sigint_ignored_by_the_caller_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        recorder = Recorder()
        bulk.run(ITEMS, recorder.action, sigint_after(recorder, 2), 1)
        assert recorder.started == ITEMS
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
