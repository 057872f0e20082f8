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
"""The scheduled-images sub-resource over HTTP, under either API alias.

``{compute}/servers/{id}/<alias>``: sending a request with retries,
learning which of the two aliases the cloud serves, and reading what
its 404s mean. This is the one place that reads the text of the cloud's
404s; it raises the types of :mod:`.errors`, which everything else
catches by type. :class:`~.manager.ScheduleManager` builds the Python
API on it.
"""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib import parse

from novaclient import base, exceptions

from rax_scheduled_images_python_novaclient_ext import retry
from rax_scheduled_images_python_novaclient_ext.config import (
    ALIAS_ENV,
    ALIASES,
    DEFAULT_ALIAS,
    SERVER_ATTRIBUTE,
)
from rax_scheduled_images_python_novaclient_ext.errors import (
    NoSchedule,
    NoSuchServer,
)

# Texts of the extension's own 404s: "Image schedule does not exist for
# server <id>" (GET, DELETE) and "Specified instance <id> could not be
# found." (POST). Any other 404 on the sub-resource is Nova's generic
# one: this cloud does not serve the alias.
_NO_SCHEDULE_TEXT = "image schedule does not exist"
_NO_INSTANCE_TEXT = "specified instance"


def quote_id(value: object) -> str:
    """Percent-quote an id into exactly one URL path segment.

    '/' is quoted too. "", "." and ".." are refused: no quoting keeps
    them one segment (requests turns %2E back into a dot, and a dot
    segment names the parent path), and no id is ever one of them.

    :raises ValueError: for "", "." and "..".
    """
    text = str(value)
    if text in ("", ".", ".."):
        raise ValueError(f"'{text}' is not a valid id.")
    return parse.quote(text, safe="")


def resolve_alias(alias: str | None = None) -> tuple[str, bool]:
    """Return ``(alias, pinned)`` from an argument or the environment.

    :raises ValueError: for a name that is not one of :data:`ALIASES`.
    """
    chosen = alias or os.environ.get(ALIAS_ENV) or None
    if chosen is None:
        return DEFAULT_ALIAS, False
    if chosen not in ALIASES:
        raise ValueError(
            f"Unknown scheduled images API alias '{chosen}': use "
            + " or ".join(ALIASES)
            + "."
        )
    return chosen, True


def _meaning(error: exceptions.NotFound, server_id: str) -> Exception:
    """What a 404 on the sub-resource means: the one place its text is
    read. Nova's generic 404 is returned as it is."""
    text = str(getattr(error, "message", "")).lower()
    if _NO_SCHEDULE_TEXT in text:
        # Also the answer for a server that does not exist: see
        # ScheduleManager.get.
        return NoSchedule(server_id)
    if _NO_INSTANCE_TEXT in text:
        return NoSuchServer(server_id)
    return error


class AliasedManager(base.Manager):
    """A novaclient Manager for the sub-resource, under either alias.

    See :class:`~.manager.ScheduleManager` for the parameters.
    """

    def __init__(
        self,
        api: Any,
        alias: str | None = None,
        retry_policy: retry.RetryPolicy | None = None,
    ) -> None:
        super().__init__(api)
        self.retry_policy = retry_policy or retry.RetryPolicy.from_env()
        self.alias, self._alias_known = resolve_alias(alias)
        self._alias_pinned = self._alias_known
        self._alias_lock = threading.Lock()

    @property
    def server_attribute(self) -> str:
        """The server attribute (and list filter) of the current alias."""
        return SERVER_ATTRIBUTE[self.alias]

    def confirm_server(self, server: Any) -> None:
        """Make sure ``server`` exists: ``GET /servers/{id}``.

        :raises NoSuchServer: when Nova answers 404 (no such server in
            this project).
        """
        server_id = base.getid(server)
        path = f"/servers/{quote_id(server_id)}"
        try:
            self._retried(lambda: self.api.client.get(path))
        except exceptions.NotFound:
            raise NoSuchServer(server_id) from None

    def url(self, server_id: object, alias: str | None = None) -> str:
        """The sub-resource path of ``server_id``, id percent-quoted."""
        return f"/servers/{quote_id(server_id)}/{alias or self.alias}"

    def _send(
        self, method: str, server_id: object, alias: str, body: Any = None
    ) -> tuple[Any, Any]:
        url = self.url(server_id, alias)
        http = self.api.client
        try:
            if method == "POST":
                return self._retried(lambda: http.post(url, body=body))
            if method == "DELETE":
                return self._retried(lambda: http.delete(url))
            return self._retried(lambda: http.get(url))
        except exceptions.NotFound as error:
            raise _meaning(error, str(server_id)) from None

    def _retried(self, send: Any) -> Any:
        return retry.call(self.retry_policy, send)

    def _call(
        self, method: str, server_id: object, body: Any = None
    ) -> tuple[Any, Any]:
        # Read both together: another thread may learn the alias while
        # this request is out, and what counts is what was known when it
        # was sent (else a generic 404 on the wrong alias would be taken
        # for the cloud serving neither).
        with self._alias_lock:
            alias, known = self.alias, self._alias_known
        try:
            answer = self._send(method, server_id, alias, body)
        except (NoSchedule, NoSuchServer):
            self._learn(alias)  # the extension's own 404: alias served
            raise
        except exceptions.NotFound as error:
            if known:
                raise
            other = ALIASES[1 - ALIASES.index(alias)]
            try:
                answer = self._send(method, server_id, other, body)
            except (NoSchedule, NoSuchServer):
                self._learn(other)
                raise
            except exceptions.NotFound:
                # Nova's generic 404 on both: neither alias is served.
                raise error from None
            self._learn(other)
            return answer
        self._learn(alias)
        return answer

    def _learn(self, alias: str) -> None:
        if self._alias_pinned:
            return
        with self._alias_lock:
            self.alias = alias
            self._alias_known = True
