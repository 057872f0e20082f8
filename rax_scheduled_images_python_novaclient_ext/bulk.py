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
second or more after the first, ends the process at once. Items are
handed out one at a time as workers free up, never queued in advance, so
nothing is left waiting to start behind the user's back.

Standard library only, and nothing of novaclient or osc-lib: each front
end turns failures into its own errors.
"""

from __future__ import annotations

import contextlib
import functools
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
_clock = time.monotonic


class Writable(Protocol):
    def write(self, text: str, /) -> Any: ...


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a bulk change; ``line`` says how far it got.

    A KeyboardInterrupt, so whatever does not catch it ends the command
    as Ctrl-C always does (exit 130).
    """

    def __init__(self, done: int, total: int, not_started: Sequence[str]):
        self.done = done
        self.total = total
        self.not_started = list(not_started)
        super().__init__(self.line)

    @property
    def line(self) -> str:
        return interrupted_line(self.done, self.total, self.not_started)


def interrupted_line(done: int, total: int, not_started: Sequence[str]) -> str:
    """``Interrupted: N of M done; not started: <labels>``.

    Past :data:`NAMED_NOT_STARTED` labels, the rest are only counted.
    """
    named = list(not_started[:NAMED_NOT_STARTED])
    text = ", ".join(named) or "none"
    if len(not_started) > len(named):
        text += f" and {len(not_started) - len(named)} more"
    return f"Interrupted: {done} of {total} done; not started: {text}"


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
def _stop_on_sigint(stop: threading.Event) -> Iterator[None]:
    """While inside, the first SIGINT sets ``stop`` instead of raising.

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
            # apart: that is still the first, and must not cost the report.
            if _clock() - first < SAME_INTERRUPT_SECONDS:
                return
            # A real second Ctrl-C ends the process at once, without
            # waiting for the requests in flight.
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.raise_signal(signal.SIGINT)

        signal.signal(signal.SIGINT, second_interrupt)

    signal.signal(signal.SIGINT, first_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run(
    items: Sequence[ItemT],
    action: Callable[[ItemT], T],
    report: Callable[[ItemT, T | None, Exception | None], None],
    concurrency: int,
    label: Callable[[ItemT], str] = str,
    stop: threading.Event | None = None,
) -> None:
    """Run ``action`` on every item, at most ``concurrency`` at a time.

    ``report(item, result, error)`` is called in the calling thread, in
    the order of ``items``, for every item whose action ran: ``error`` is
    what it raised, or None. A failure does not stop the others.

    :param stop: set it to stop starting items (SIGINT sets it when this
        runs in the main thread and SIGINT has its default handler).
    :raises Interrupted: once stopped, after the items already started
        are finished and reported.
    """
    # Threads only when a bulk change runs, not at every nova start-up.
    import concurrent.futures

    stop = threading.Event() if stop is None else stop

    def guarded(item: ItemT) -> T:
        # A stop between handing out an item and its start still holds.
        if stop.is_set():
            raise _NotStarted()
        _running.stop = stop
        try:
            return action(item)
        finally:
            _running.stop = None

    outcomes: dict[int, tuple[T | None, BaseException | None]] = {}
    skipped: set[int] = set()
    running: dict[concurrent.futures.Future[T], int] = {}
    handed_out = reported = 0
    workers = max(1, min(concurrency, len(items)))
    with (
        _stop_on_sigint(stop),
        concurrent.futures.ThreadPoolExecutor(workers) as pool,
    ):
        while True:
            while (
                handed_out < len(items)
                and len(running) < workers
                and not stop.is_set()
            ):
                future = pool.submit(guarded, items[handed_out])
                running[future] = handed_out
                handed_out += 1
            if not running:
                break
            finished, _ = concurrent.futures.wait(
                running, return_when=concurrent.futures.FIRST_COMPLETED
            )
            for future in finished:
                error = future.exception()
                result = None if error is not None else future.result()
                outcomes[running.pop(future)] = (result, error)
            reported = _report_in_order(
                items, outcomes, skipped, reported, report
            )
    if stop.is_set():
        not_started = sorted(skipped) + list(range(handed_out, len(items)))
        raise Interrupted(
            len(items) - len(not_started),
            len(items),
            [label(items[index]) for index in not_started],
        )


def _report_in_order(
    items: Sequence[ItemT],
    outcomes: dict[int, tuple[T | None, BaseException | None]],
    skipped: set[int],
    reported: int,
    report: Callable[[ItemT, T | None, Exception | None], None],
) -> int:
    """Report the finished items that follow the last one reported."""
    while reported in outcomes:
        result, error = outcomes.pop(reported)
        if isinstance(error, _NotStarted):
            skipped.add(reported)
        elif error is None or isinstance(error, Exception):
            report(items[reported], result, error)
        else:
            raise error  # not a failure of the item: SystemExit and such
        reported += 1
    return reported


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

    try:
        run(items, action, report, concurrency, label, stop)
    except Interrupted as stopped:
        if len(items) == 1 and failures:
            # The caller never gets to say it: the command ends here.
            ((item, error),) = failures
            _say(err, f"{label(item)}: {one_line(error)}")
        _say(err, stopped.line)
        raise
    return failures


def failed_line(failed: int, total: int, noun: str) -> str:
    """``N of M <noun>s failed.``"""
    return f"{failed} of {total} {noun}s failed."
