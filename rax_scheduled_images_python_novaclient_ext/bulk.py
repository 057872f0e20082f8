# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""One change on many servers or images, and a Ctrl-C that stops it.

Both front ends run their bulk changes here, so ``nova`` and ``openstack``
stop alike. A change is started only while no Ctrl-C has come: the first
SIGINT lets the requests already sent finish (each bounded by the usual
timeout), reports every item that was changed, names those never
started, and raises :class:`Interrupted`; a second SIGINT, half a
second or more after the first, stops the waiting: what finished is
reported, the requests still in flight are named as "may have
completed" (their answers never came), and the command ends. Any SIGINT
after that is ignored until the report is out: however often Ctrl-C is
pressed, the report comes. Items are handed out one at a time as
workers free up, never queued in advance, so nothing is left waiting to
start behind the user's back. Workers are daemon threads, so a request
left in flight does not hold the process open.

Standard library only, and nothing of novaclient or osc-lib: each front
end turns failures into its own errors.
"""

from __future__ import annotations

import contextlib
import functools
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
ItemT = TypeVar("ItemT")

# What a shell reports for a command ended by SIGINT (128 + 2).
INTERRUPTED_EXIT = 130
# How many items not started the interrupted line names before it only
# counts the rest.
NAMED_NOT_STARTED = 10
# A SIGINT this soon after the first is the same one delivered twice.
SAME_INTERRUPT_SECONDS = 0.5
# How often the waiting for answers looks whether a second Ctrl-C came
# (a signal handler can only set a flag safely).
_POLL_SECONDS = 0.05
_clock = time.monotonic


class Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a bulk change; ``line`` says how far it got.

    A KeyboardInterrupt, so whatever does not catch it ends the command
    as Ctrl-C always does (exit 130).
    """

    def __init__(
        self,
        done: int,
        total: int,
        not_started: Sequence[str],
        in_flight: Sequence[str] = (),
        line: str | None = None,
    ):
        self.done = done
        self.total = total
        self.not_started = list(not_started)
        self.in_flight = list(in_flight)
        self._line = line
        super().__init__(self.line)

    @property
    def line(self) -> str:
        if self._line is not None:
            return self._line
        return interrupted_line(
            self.done, self.total, self.not_started, self.in_flight
        )


def _named(labels: Sequence[str]) -> str:
    named = list(labels[:NAMED_NOT_STARTED])
    text = ", ".join(named) or "none"
    if len(labels) > len(named):
        text += f" and {len(labels) - len(named)} more"
    return text


def interrupted_line(
    done: int,
    total: int,
    not_started: Sequence[str],
    in_flight: Sequence[str] = (),
) -> str:
    """``Interrupted: N of M done; not started: <labels>``, and, when a
    second Ctrl-C stopped the waiting, ``may have completed: <labels>``
    before it: the requests sent whose answers never came.

    Past :data:`NAMED_NOT_STARTED` labels, the rest are only counted
    (never for those that may have completed: each is named).
    """
    head = f"Interrupted: {done} of {total} done"
    if in_flight:
        head += f"; may have completed: {', '.join(in_flight)}"
    return f"{head}; not started: {_named(not_started)}"


def one_line(error: BaseException) -> str:
    """The message a user sees for ``error``, on one line."""
    text = str(error) or error.__class__.__name__
    return " ".join(text.split())


class _NotStarted(Exception):
    """An item whose turn came after the stop: nothing was sent for it."""


# The stop of the run whose action this thread is running, if any.
_running = threading.local()


def unless_stopped(change: Callable[P, T]) -> Callable[P, T]:
    """``change``, not started once Ctrl-C has stopped the run.

    For an action that reads before it changes (a name to look up, a
    schedule to merge): wrap its changing call, and an item caught
    between the two by Ctrl-C is reported as not started, and nothing
    is changed for it. Outside :func:`run`, ``change`` runs as it is.
    """

    @functools.wraps(change)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
        stop: threading.Event | None = getattr(_running, "stop", None)
        if stop is not None and stop.is_set():
            raise _NotStarted()
        return change(*args, **kwargs)

    return guarded


@contextlib.contextmanager
def _stop_on_sigint(
    stop: threading.Event, abandon: threading.Event
) -> Iterator[None]:
    """While inside, the first SIGINT sets ``stop`` instead of raising,
    a second one (:data:`SAME_INTERRUPT_SECONDS` later or more) sets
    ``abandon``, and any after that is ignored.

    Left alone when SIGINT is ignored (a background job) or handled by
    someone else, and off the main thread, where no handler can be set.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        yield
        return

    def first_interrupt(signum: int, frame: Any) -> None:
        stop.set()
        first = _clock()

        def second_interrupt(signum: int, frame: Any) -> None:
            # ``timeout -s INT`` (and ``kill -INT -<group>``) deliver one
            # interrupt twice, to the process and to its group, moments
            # apart: that is still the first.
            if _clock() - first < SAME_INTERRUPT_SECONDS:
                return
            # A real second Ctrl-C: stop waiting for the requests in
            # flight. Only a flag: the report is written by the loop,
            # which a third Ctrl-C (ignored here) must not cut short.
            abandon.set()

        signal.signal(signal.SIGINT, second_interrupt)

    signal.signal(signal.SIGINT, first_interrupt)
    try:
        yield
    finally:
        # After a second Ctrl-C the command is ending: one more could
        # only cut short what is left of its report and its exit (130).
        signal.signal(
            signal.SIGINT,
            signal.SIG_IGN if abandon.is_set() else previous,
        )


def run(
    items: Sequence[ItemT],
    action: Callable[[ItemT], T],
    report: Callable[[ItemT, T | None, Exception | None], None],
    concurrency: int,
    label: Callable[[ItemT], str] = str,
    stop: threading.Event | None = None,
    interrupted: Callable[[Interrupted], None] | None = None,
) -> None:
    """Run ``action`` on every item, at most ``concurrency`` at a time.

    ``report(item, result, error)`` is called in the calling thread, in
    the order of ``items``, for every item whose action ran: ``error`` is
    what it raised, or None. A failure does not stop the others.

    :param stop: set it to stop starting items (SIGINT sets it when this
        runs in the main thread and SIGINT has its default handler).
    :param interrupted: says the :class:`Interrupted` (e.g. writes its
        line) while Ctrl-C is still held off, before it is raised.
    :raises Interrupted: once stopped, after the items already started
        are finished (or, after a second Ctrl-C, abandoned) and reported.
    """
    fan = _FanOut(items, action, report, stop)
    with _stop_on_sigint(fan.stop, fan.abandon):
        fan.run(max(1, min(concurrency, len(items))))
        if not fan.stop.is_set():
            return
        not_started = sorted(fan.skipped) + list(
            range(fan.handed_out, len(items))
        )
        stopped = Interrupted(
            len(items) - len(not_started) - len(fan.in_flight),
            len(items),
            [label(items[index]) for index in not_started],
            [label(items[index]) for index in sorted(fan.in_flight)],
        )
        if interrupted is not None:
            interrupted(stopped)
    raise stopped


class _FanOut:
    """One run's items, its daemon workers, and what came back."""

    def __init__(
        self,
        items: Sequence[Any],
        action: Callable[[Any], Any],
        report: Callable[[Any, Any, Exception | None], None],
        stop: threading.Event | None,
    ) -> None:
        self.items = items
        self.action = action
        self.report = report
        self.stop = threading.Event() if stop is None else stop
        self.abandon = threading.Event()
        self.answers: queue.Queue[tuple[int, Any, BaseException | None]]
        self.answers = queue.Queue()
        self.outcomes: dict[int, tuple[Any, BaseException | None]] = {}
        self.skipped: set[int] = set()
        self.in_flight: set[int] = set()
        self.handed_out = 0
        self.reported = 0

    def _work(self, index: int) -> None:
        result: Any = None
        error: BaseException | None = None
        # A stop between handing out an item and its start still holds.
        if self.stop.is_set():
            error = _NotStarted()
        else:
            _running.stop = self.stop
            try:
                result = self.action(self.items[index])
            except BaseException as raised:  # reported by the caller
                error = raised
            finally:
                _running.stop = None
        self.answers.put((index, result, error))

    def run(self, workers: int) -> None:
        """Hand out, collect and report until done, or stopped and
        every item started has answered, or abandoned."""
        while True:
            while (
                self.handed_out < len(self.items)
                and len(self.in_flight) < workers
                and not self.stop.is_set()
            ):
                index = self.handed_out
                threading.Thread(
                    target=self._work, args=(index,), daemon=True
                ).start()
                self.in_flight.add(index)
                self.handed_out += 1
            if not self.in_flight or self.abandon.is_set():
                break
            try:
                index, result, error = self.answers.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                continue
            self.in_flight.discard(index)
            self.outcomes[index] = (result, error)
            self._report_in_order()
        # Answers that came with the second Ctrl-C, and those finished
        # out of order behind one abandoned, are reported all the same.
        while True:
            try:
                index, result, error = self.answers.get_nowait()
            except queue.Empty:
                break
            self.in_flight.discard(index)
            self.outcomes[index] = (result, error)
        for index in sorted(self.outcomes):
            self.reported = index
            self._report_in_order()

    def _report_in_order(self) -> None:
        """Report the finished items that follow the last one reported."""
        while self.reported in self.outcomes:
            result, error = self.outcomes.pop(self.reported)
            if isinstance(error, _NotStarted):
                self.skipped.add(self.reported)
            elif error is None or isinstance(error, Exception):
                self.report(self.items[self.reported], result, error)
            else:
                raise error  # not a failure of the item: SystemExit and such
            self.reported += 1


def _say(stream: Writable, line: str) -> None:
    stream.write(line + "\n")
    # Each line out at once: a second Ctrl-C ends the process without
    # the chance to flush.
    flush = getattr(stream, "flush", None)
    if flush is not None:
        flush()


def change_each(
    items: Sequence[ItemT],
    action: Callable[[ItemT], T],
    line: Callable[[ItemT, T], str],
    label: Callable[[ItemT], str],
    concurrency: int,
    out: Writable,
    err: Writable,
    stop: threading.Event | None = None,
) -> list[tuple[ItemT, Exception]]:
    """Change every item, one line per item, and say if Ctrl-C stopped it.

    ``line(item, result)`` goes to ``out`` for each item changed, in the
    order given. With several items, ``<label>: <error>`` goes to ``err``
    for each that failed; a single item's failure is left to the caller,
    to be the command's one error line.

    :returns: the items that failed, with what they raised.
    :raises Interrupted: after Ctrl-C, once the items started are
        reported and the interrupted line is on ``err``.
    """
    failures: list[tuple[ItemT, Exception]] = []

    def report(item: ItemT, result: T | None, error: Exception | None) -> None:
        if error is None:
            _say(out, line(item, result))  # type: ignore[arg-type]
            return
        failures.append((item, error))
        if len(items) > 1:
            _say(err, f"{label(item)}: {one_line(error)}")

    def say_stopped(stopped: Interrupted) -> None:
        if len(items) == 1 and failures:
            # The caller never gets to say it: the command ends here.
            ((item, error),) = failures
            _say(err, f"{label(item)}: {one_line(error)}")
        _say(err, stopped.line)

    run(items, action, report, concurrency, label, stop, say_stopped)
    return failures


def failed_line(failed: int, total: int, noun: str) -> str:
    """``N of M <noun>s failed.``"""
    return f"{failed} of {total} {noun}s failed."
