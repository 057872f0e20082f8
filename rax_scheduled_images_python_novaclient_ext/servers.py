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
"""The Compute calls a restore needs, one HTTP request each, and waits.

Show a server and a flavor, rebuild, create, delete, snapshot
(``createImage``), and wait for a server or an image to settle. Built
on the nova client's own HTTP client (its keystoneauth session, so the
same token, endpoint and errors: ``novaclient.exceptions``). Reads and
DELETE are retried as every request of this package is (:mod:`.retry`);
a POST that changes something is sent once, because a repeat of a
create whose answer was lost would boot a second server.

Not a ``novaclient.base.Manager``: ``novaclient_ext`` must hold exactly
one Manager class (see its docstring), and servers come back as the
API's JSON dicts, which the pure :mod:`.restore` reads.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib import parse

from novaclient import exceptions

from rax_scheduled_images_python_novaclient_ext import retry
from rax_scheduled_images_python_novaclient_ext.subresource import quote_id

# A wait reads the server (or image) again after FIRST_POLL seconds, then
# half as long again each time, up to POLL_SECONDS: a sandbox boot of
# two seconds is seen within a quarter second of its end, and a real
# one of minutes costs a request every few seconds, not a flood.
FIRST_POLL = 0.25
POLL_GROWTH = 1.5
POLL_SECONDS = 5.0
# One TCP attempt of a port check.
CONNECT_SECONDS = 2.0


class WaitFailed(Exception):
    """A server (or image) ended in ERROR (killed, deleted): the message
    is its fault's, on one line."""


class WaitTimedOut(Exception):
    """A wait ran out of time; what it waited for goes on in the cloud."""


class WaitStopped(Exception):
    """A wait was stopped (Ctrl-C); what it waited for goes on."""


def fault_message(server: Mapping[str, Any]) -> str:
    """The server's fault message, on one line ("" when none)."""
    fault = server.get("fault")
    message = fault.get("message") if isinstance(fault, Mapping) else None
    return " ".join(str(message or "").split())


def image_id_from(resp: Any, body: Any) -> str:
    """The new image's id from a ``createImage`` answer: the body's
    ``image_id`` from microversion 2.45, else the ``Location`` header
    (``.../images/<id>``) as before 2.45.

    :raises ValueError: when the answer carries neither.
    """
    if isinstance(body, Mapping) and body.get("image_id"):
        return str(body["image_id"])
    location = (getattr(resp, "headers", None) or {}).get("Location") or ""
    path = parse.urlsplit(location).path.rstrip("/")
    found = parse.unquote(path.rpartition("/")[2]) if "/" in path else ""
    if not found:
        raise ValueError(
            "The cloud accepted the snapshot but did not say the new "
            "image's id (no image_id, no Location header)."
        )
    return found


class ServerManager:
    """Servers and flavors for a restore (the Python API).

    :param api: a ``novaclient.v2.client.Client``.
    :param retry_policy: how reads and deletes are retried.
    """

    def __init__(
        self, api: Any, retry_policy: retry.RetryPolicy | None = None
    ) -> None:
        self.api = api
        self.retry_policy = retry_policy or retry.RetryPolicy.from_env()

    def _read(self, path: str) -> dict[str, Any]:
        _, body = retry.call(
            self.retry_policy, lambda: self.api.client.get(path)
        )
        return body if isinstance(body, dict) else {}

    def get(self, server_id: str) -> dict[str, Any]:
        """``GET /servers/{id}``: the server as Nova shows it.

        :raises novaclient.exceptions.NotFound: no such server.
        """
        found = self._read(f"/servers/{quote_id(server_id)}").get("server")
        return found if isinstance(found, dict) else {}

    def flavor(self, flavor_id: str) -> dict[str, Any]:
        """``GET /flavors/{id}``: ``id``, ``name``, ``disk`` (GB), ...

        :raises novaclient.exceptions.NotFound: no such flavor.
        """
        found = self._read(f"/flavors/{quote_id(flavor_id)}").get("flavor")
        return found if isinstance(found, dict) else {}

    def find_flavor(self, name_or_id: str) -> dict[str, Any]:
        """The flavor with this id, or else the one with this name.

        :raises novaclient.exceptions.CommandError: none, or several.
        """
        try:
            return self.flavor(name_or_id)
        except exceptions.NotFound:
            pass
        listed = self._read("/flavors/detail").get("flavors") or []
        same = [f for f in listed if f.get("name") == name_or_id]
        if len(same) != 1:
            raise exceptions.CommandError(
                f"No flavor with a name or ID of '{name_or_id}' exists."
                if not same
                else f"Multiple flavor matches found for '{name_or_id}', "
                "use an ID to be more specific."
            )
        return dict(same[0])

    def rebuild(self, server_id: str, image_id: str) -> dict[str, Any]:
        """``POST /servers/{id}/action {"rebuild": {"imageRef"}}``: the
        server's system disk is replaced by the image; id and addresses
        stay. Sent once.

        :raises novaclient.exceptions.Conflict: (409) the server's state
            or a task in progress forbids it.
        :raises novaclient.exceptions.BadRequest: (400) the image is not
            ACTIVE, or too big for the flavor.
        """
        _, body = self.api.client.post(
            f"/servers/{quote_id(server_id)}/action",
            body={"rebuild": {"imageRef": image_id}},
        )
        found = body.get("server") if isinstance(body, dict) else None
        return found if isinstance(found, dict) else {}

    def create(
        self,
        name: str,
        image_id: str,
        flavor_id: str,
        networks: tuple[str, ...] = (),
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """``POST /servers``: a new server booted from ``image_id``.
        Sent once. Returns the new server's id.

        :param networks: network ids; empty lets the cloud choose.
        :raises novaclient.exceptions.Forbidden: (403, or
            ``RequestEntityTooLarge`` 413) over quota.
        """
        server: dict[str, Any] = {
            "name": name,
            "imageRef": image_id,
            "flavorRef": flavor_id,
        }
        if networks:
            server["networks"] = [{"uuid": net} for net in networks]
        if metadata:
            server["metadata"] = dict(metadata)
        _, body = self.api.client.post("/servers", body={"server": server})
        made = body.get("server") if isinstance(body, dict) else None
        if not isinstance(made, dict) or not made.get("id"):
            raise ValueError("The cloud's answer to POST /servers has no id.")
        return str(made["id"])

    def delete(self, server_id: str) -> None:
        """``DELETE /servers/{id}``. A 404 after a retry means the first
        DELETE did it; a 404 on the first try is raised.

        :raises novaclient.exceptions.NotFound: no such server.
        """
        path = f"/servers/{quote_id(server_id)}"
        tries: list[None] = []

        def send() -> None:
            tries.append(None)
            try:
                self.api.client.delete(path)
            except exceptions.NotFound:
                if len(tries) == 1:
                    raise

        retry.call(self.retry_policy, send)

    def create_image(
        self,
        server_id: str,
        name: str,
        metadata: Mapping[str, str] | None = None,
    ) -> str:
        """``POST /servers/{id}/action {"createImage"}``: a snapshot of
        the server. Sent once. Returns the new image's id (see
        :func:`image_id_from`).

        :raises novaclient.exceptions.Conflict: (409) a snapshot or
            another task is in progress.
        """
        resp, body = self.api.client.post(
            f"/servers/{quote_id(server_id)}/action",
            body={"createImage": {"name": name, "metadata": metadata or {}}},
        )
        return image_id_from(resp, body)

    def list_all(self) -> list[dict[str, Any]]:
        """Every server of the session's project (``GET /servers/detail``,
        every page). Nova lists only the caller's project's servers."""
        servers: list[dict[str, Any]] = []
        path: str | None = "/servers/detail"
        seen: set[str] = set()
        while path is not None and path not in seen:
            seen.add(path)
            body = self._read(path)
            servers.extend(
                s for s in body.get("servers") or [] if isinstance(s, dict)
            )
            path = None
            for link in body.get("servers_links") or []:
                if isinstance(link, dict) and link.get("rel") == "next":
                    query = parse.urlsplit(str(link.get("href"))).query
                    path = f"/servers/detail?{query}"
        return servers

    def named(self, name: str) -> list[dict[str, Any]]:
        """The servers named exactly ``name`` (Nova's filter is a
        pattern: its matches are narrowed to the exact name)."""
        query = parse.urlencode({"name": name})
        listed = self._read(f"/servers?{query}").get("servers") or []
        return [s for s in listed if s.get("name") == name]


def wait_for(
    read: Callable[[], Mapping[str, Any]],
    done: Callable[[Mapping[str, Any]], bool],
    failed: Callable[[Mapping[str, Any]], str | None],
    timeout: float,
    *,
    stop: threading.Event | None = None,
    progress: Callable[[Mapping[str, Any], float], None] | None = None,
    poll: float = POLL_SECONDS,
    clock: Callable[[], float] = time.monotonic,
) -> Mapping[str, Any]:
    """Read until ``done``; osc-lib's ``wait_for_status`` with a timeout,
    a stop, and the reason of a failure.

    :param failed: the reason, when what was read has failed.
    :returns: the last read.
    :raises WaitFailed: ``failed`` gave a reason.
    :raises WaitTimedOut: ``timeout`` seconds passed first.
    :raises WaitStopped: ``stop`` was set (Ctrl-C) first.
    """
    start = clock()
    wake = stop or threading.Event()
    pause = min(FIRST_POLL, poll)
    while True:
        found = read()
        if done(found):
            return found
        reason = failed(found)
        if reason is not None:
            raise WaitFailed(reason)
        waited = clock() - start
        if progress is not None:
            progress(found, waited)
        if waited >= timeout:
            raise WaitTimedOut(f"still not done after {int(timeout)} s")
        # The stop event wakes the sleep at once.
        if wake.wait(min(pause, max(0.0, timeout - waited))):
            raise WaitStopped("stopped")
        pause = min(poll, pause * POLL_GROWTH)


def server_settled(
    server: Mapping[str, Any], states: Sequence[str] = ("ACTIVE",)
) -> bool:
    """In one of ``states`` (ACTIVE by default) with no task running."""
    status = str(server.get("status") or "").upper()
    return status in states and not server.get("OS-EXT-STS:task_state")


def server_failure(server: Mapping[str, Any]) -> str | None:
    """The reason a server failed (ERROR, or deleted under the wait)."""
    status = str(server.get("status") or "").upper()
    if status == "ERROR":
        return fault_message(server) or "the server went to ERROR"
    if status in ("DELETED", "SOFT_DELETED"):
        return f"the server was {status.lower()}"
    return None


def image_failure(image: Mapping[str, Any]) -> str | None:
    """The reason an image failed (killed, deleted, error)."""
    status = str(image.get("status") or "").lower()
    if status in ("killed", "deleted", "pending_delete", "error"):
        return f"the image is {status}"
    return None


def port_answers(
    addresses: Sequence[str],
    port: int,
    within: float,
    stop: threading.Event | None = None,
) -> bool:
    """True once one of ``addresses`` accepts a TCP connection on
    ``port``, trying again for ``within`` seconds (a booted server's
    service may take a moment to listen)."""
    deadline = time.monotonic() + within
    wake = stop or threading.Event()
    while True:
        for address in addresses:
            try:
                with socket.create_connection(
                    (address, port), timeout=CONNECT_SECONDS
                ):
                    return True
            except OSError:
                continue
        if time.monotonic() >= deadline or wake.wait(0.5):
            return False
