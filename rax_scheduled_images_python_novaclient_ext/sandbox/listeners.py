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
"""Servers that answer TCP: a real listening socket per ACTIVE server.

Each ACTIVE server the sandbox runs listens on `(its 127.0.1.N address,
the sandbox's server port)` and accepts and closes every connection, so
a client can check that a booted server "answers" without a console.
One thread per sandbox waits on every socket at once (a selector) and
also wakes the lifecycle's timers (`on_wake`, `next_wait`).

The server port is held for the whole run by a socket bound (not
listening) on 127.0.1.1 without SO_REUSEADDR: the kernel then hands no
other sandbox the same port, so sandboxes side by side (pytest-xdist)
never bind the same address and port. Opening and closing happen in
the caller's thread, under this object's lock, so a socket is closed by
the time the request that closed it is answered.
"""

from __future__ import annotations

import selectors
import socket
import sys
import threading
from collections.abc import Callable

RESERVED_HOST = "127.0.1.1"
# A timer never sleeps longer than this, so a stop is seen promptly even
# if a wake-up were lost.
MAX_WAIT = 1.0


def loopback_address(index: int) -> str:
    """The index-th server address: 127.0.1.2 ... 127.0.1.254, then
    127.0.2.2 ... (never .0, .1 or .255)."""
    third, fourth = divmod(index, 253)
    return f"127.0.{1 + third}.{2 + fourth}"


class Listeners:
    """The listening sockets of one sandbox's servers, by address."""

    def __init__(self, port: int = 0) -> None:
        """:raises ValueError: for a port not from 0 to 65535."""
        if not 0 <= port <= 65535:
            raise ValueError("server_port must be from 0 to 65535")
        self.requested_port = port
        self.port = port
        self._lock = threading.Lock()
        self._open: dict[str, socket.socket] = {}
        self._selector: selectors.BaseSelector | None = None
        self._reservation: socket.socket | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.on_wake: Callable[[], None] = lambda: None
        self.next_wait: Callable[[], float | None] = lambda: None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Reserve the port and start the thread.

        :raises OSError: when the port cannot be had.
        """
        reservation = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            reservation.bind((RESERVED_HOST, self.requested_port))
        except OSError:
            reservation.close()
            raise
        self._reservation = reservation
        self.port = reservation.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"sandbox-servers-{self.port}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Close every socket and end the thread (idempotent)."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        self.wake()
        thread.join(timeout=5)
        self._thread = None
        with self._lock:
            for address in list(self._open):
                self._close_locked(address)
            for sock in (self._wake_r, self._wake_w, self._reservation):
                if sock is not None:
                    sock.close()
            if self._selector is not None:
                self._selector.close()
            self._wake_r = self._wake_w = self._reservation = None
            self._selector = None
        self.port = self.requested_port

    def wake(self) -> None:
        """Make the thread look at its timers again."""
        wake = self._wake_w
        if wake is None:
            return
        try:
            wake.send(b"x")
        except OSError:
            pass  # full (a wake-up is pending anyway) or closed

    # ----- the sockets ----------------------------------------------------

    def is_open(self, address: str) -> bool:
        with self._lock:
            return address in self._open

    def open_addresses(self) -> list[str]:
        with self._lock:
            return sorted(self._open)

    def open(self, address: str) -> bool:
        """Listen on (address, port); False when it cannot be done (not
        running, an address that is not loopback, a bind error)."""
        if not address.startswith("127."):
            return False
        with self._lock:
            if self._selector is None:
                return False
            if address in self._open:
                return True
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            # Rebinding after a rebuild must not fail on the TIME_WAIT of
            # connections this side closed.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((address, self.port))
                sock.listen(16)
            except OSError as exc:
                sock.close()
                print(
                    f"sandbox: cannot listen on {address}:{self.port}: {exc}",
                    file=sys.stderr,
                )
                return False
            sock.setblocking(False)
            self._open[address] = sock
            self._selector.register(sock, selectors.EVENT_READ, address)
            return True

    def close(self, address: str) -> None:
        with self._lock:
            self._close_locked(address)

    def close_all(self) -> None:
        with self._lock:
            for address in list(self._open):
                self._close_locked(address)

    def _close_locked(self, address: str) -> None:
        sock = self._open.pop(address, None)
        if sock is None:
            return
        if self._selector is not None:
            try:
                self._selector.unregister(sock)
            except (KeyError, ValueError):
                pass
        sock.close()

    # ----- the thread -----------------------------------------------------

    def _timeout(self) -> float:
        wait = self.next_wait()
        return MAX_WAIT if wait is None else max(0.0, min(MAX_WAIT, wait))

    def _run(self) -> None:
        selector = self._selector
        assert selector is not None
        while not self._stopping.is_set():
            try:
                events = selector.select(self._timeout())
            except (OSError, ValueError):
                events = []  # a socket closed under it: look again
            for key, _ in events:
                if key.data is None:
                    self._drain()
                else:
                    self._accept(key.fileobj)  # type: ignore[arg-type]
            if not self._stopping.is_set():
                self.on_wake()

    def _drain(self) -> None:
        try:
            while self._wake_r is not None and self._wake_r.recv(512):
                pass
        except OSError:
            pass

    def _accept(self, sock: socket.socket) -> None:
        """Accept and close at once: the server answers, nothing more."""
        with self._lock:
            if sock not in self._open.values():
                return
            try:
                connection, _ = sock.accept()
            except OSError:
                return
        connection.close()
