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
"""The Python API: a novaclient manager for a server's image schedule.

Programs reach it as ``client.rax_scheduled_images_python_novaclient_ext``
on a ``novaclient.client.Client`` (the name of the extension), exactly as
with the original 0.3.1 release, or build it with
``ScheduleManager(client)``. Each method is one HTTP request on a
cloud that serves the default API alias.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any
from urllib import parse

from novaclient import base, exceptions

from rax_scheduled_images_python_novaclient_ext import config, retry
from rax_scheduled_images_python_novaclient_ext import schedule as domain

# The alias names stay importable from here, where programs found them.
from rax_scheduled_images_python_novaclient_ext.config import (
    ALIAS_ENV,
    ALIASES,
    DEFAULT_ALIAS,
    RACKSPACE_ALIAS,  # noqa: F401 (re-exported)
    SERVER_ATTRIBUTE,
)

# Text of the extension's own 404 ("Image schedule does not exist for
# server <id>"); any other 404 on the sub-resource is Nova's generic one,
# which means an unknown server or an alias this cloud does not serve.
_EXTENSION_404_TEXT = "image schedule does not exist"


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


def is_extension_not_found(error: exceptions.NotFound) -> bool:
    """True for the extension's "no schedule" 404, not Nova's generic one."""
    return _EXTENSION_404_TEXT in str(getattr(error, "message", "")).lower()


class ImageSchedule(base.Resource):
    """A server's image schedule.

    ``retention`` is always there; ``day_of_week`` (upper-case, e.g.
    ``"SATURDAY"``) only when the schedule is weekly.
    """

    HUMAN_ID = False

    def __repr__(self) -> str:
        day = getattr(self, "day_of_week", None)
        shown = f" day_of_week={day}" if day else ""
        return f"<ImageSchedule retention={self.retention}{shown}>"

    def to_schedule(self) -> domain.Schedule:
        """This schedule as the domain's :class:`~.schedule.Schedule`."""
        return domain.schedule_from_api(self._info)


class ScheduleManager(base.Manager):
    """Show, enable and disable a server's scheduled images.

    :param api: a ``novaclient.v2.client.Client``.
    :param alias: pin the API alias (``os-si-image-schedule`` or
        ``rax-si-image-schedule``); else the environment variable
        ``SCHEDULED_IMAGES_API_ALIAS``; else the default alias, with one
        fallback to the other alias when the cloud answers Nova's generic
        404, after which the alias that answered is kept for the life of
        this manager.
    :param retry_policy: how transient failures are retried (see
        :mod:`.retry`); by default 3 retries, changed by the environment
        variables ``SCHEDULED_IMAGES_RETRIES`` and
        ``SCHEDULED_IMAGES_RETRY_MAX_DELAY``.
    """

    resource_class = ImageSchedule

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

    # -- the Python API ---------------------------------------------------

    def get(self, server: Any) -> ImageSchedule:
        """Return the image schedule of ``server`` (an id or a Server).

        :raises novaclient.exceptions.NotFound: ``Scheduled images not
            enabled for server <id>`` when it has no schedule; Nova's own
            404 when the server does not exist.
        :raises MalformedResponseError: when the answer is not a schedule.
        """
        server_id = base.getid(server)
        try:
            resp, body = self._call("GET", server_id)
        except exceptions.NotFound as error:
            if is_extension_not_found(error):
                raise exceptions.NotFound(
                    404,
                    f"Scheduled images not enabled for server {server_id}",
                ) from None
            raise
        return self._resource(body, resp)

    def enable(
        self,
        server: Any,
        retention: int | str,
        day_of_week: str | None = None,
    ) -> ImageSchedule:
        """Enable (or replace) the image schedule of ``server``.

        Without ``day_of_week`` the schedule is daily, even where it was
        weekly before: the API replaces the whole schedule.

        :param retention: how many scheduled images to keep, a positive
            integer (an int or a string of digits).
        :param day_of_week: a day name in any case, or its first three
            letters, for a weekly schedule.
        :raises ScheduleError: for a bad retention or day; nothing is sent.
        :raises novaclient.exceptions.BadRequest: when the cloud refuses
            the value (e.g. a retention over its limit).
        """
        wanted = domain.new_schedule(retention, day_of_week)
        return self.set(server, wanted)

    def set(self, server: Any, wanted: domain.Schedule) -> ImageSchedule:
        """Set exactly the schedule ``wanted`` on ``server``."""
        server_id = base.getid(server)
        resp, body = self._call("POST", server_id, wanted.to_body())
        return self._resource(body, resp)

    def disable(self, server: Any) -> None:
        """Disable scheduled images on ``server``.

        Images already taken stay. A server that has no schedule is
        already disabled, which is not an error (older versions of the
        service answer that case with their 404).

        :raises novaclient.exceptions.NotFound: when the server does not
            exist.
        """
        server_id = base.getid(server)
        try:
            self._call("DELETE", server_id)
        except exceptions.NotFound as error:
            if not is_extension_not_found(error):
                raise

    def list_schedules(
        self,
        all_servers: bool = False,
        concurrency: int = config.DEFAULT_CONCURRENCY,
    ) -> domain.ServerScheduleList:
        """Every server that has an image schedule, with its schedule.

        Reads ``GET /servers/detail?OS-SI:image_schedule=True`` (or the
        ``RAX-SI:`` filter of the other alias), following every
        ``servers_links`` next link: Nova applies the filter after paging,
        so a short or even empty page does not mean the end.

        :param all_servers: list servers without a schedule too (their
            ``schedule`` is None); the list is then read unfiltered.
        :param concurrency: how many schedule requests may run at once in
            the fallback below.
        :returns: a list (in the server list's order) whose
            ``used_fallback`` attribute is True when the server list did
            not show the schedules and each server's schedule was asked
            for on its own (one request per server).

        How a listing that does not show schedules is recognised: the
        attribute is shown when at least one listed server carries the
        key. An empty filtered listing is an answer (the filter worked,
        or there are no servers at all). A non-empty filtered listing in
        which no server carries the key means the cloud ignored the
        filter; and an unfiltered listing without the key anywhere is
        checked with the filter. Each alias is tried in turn (unless one
        is pinned or already known); when no alias's filter works, the
        fallback asks each listed server.

        :raises novaclient.exceptions.ClientException: when Nova refuses
            the listing, or a schedule request in the fallback.
        :raises MalformedResponseError: for a schedule that is not one.
        """
        candidates = (
            [self.alias]
            if self._alias_known
            else [self.alias, ALIASES[1 - ALIASES.index(self.alias)]]
        )
        servers: list[dict[str, Any]] = []
        listed = False
        if all_servers:
            servers = self._list_servers(None)
            listed = True
            if not servers:
                return domain.ServerScheduleList()
            carried = self._carried(servers, candidates)
            if carried is not None:
                return self._from_listing(servers, carried, True)
        for alias in candidates:
            filtered = self._list_servers(SERVER_ATTRIBUTE[alias])
            if not filtered:
                if all_servers:
                    # Servers exist, and the filter left none: it works,
                    # and no server has a schedule.
                    self._learn(alias)
                    return self._from_listing(servers, alias, True)
                return domain.ServerScheduleList()
            carried = self._carried(filtered, [alias, *candidates])
            if carried is not None:
                return self._from_listing(
                    servers if all_servers else filtered,
                    carried,
                    all_servers,
                )
            if not listed:
                # The filter was ignored: this is the whole list.
                servers, listed = filtered, True
        return self._ask_each(servers, all_servers, concurrency)

    def shown_on(self, server: Any) -> domain.Schedule | None:
        """The schedule a server's detail already shows, if it shows one.

        ``GET /servers/{id}`` carries the ``OS-SI:image_schedule`` (or
        ``RAX-SI:``) attribute on a server that has a schedule, which
        saves the schedule request. None means "not shown here": the
        server may have no schedule, or the cloud may not show it, so
        only :meth:`get` can tell.

        :param server: a novaclient ``Server`` or its JSON dict.
        :raises MalformedResponseError: for an attribute that is not a
            schedule.
        """
        info = getattr(server, "_info", server)
        if not isinstance(info, dict):
            return None
        aliases = [self.alias] if self._alias_known else list(ALIASES)
        carried = self._carried([info], aliases)
        if carried is None:
            return None
        return domain.schedule_from_attribute(info[SERVER_ATTRIBUTE[carried]])

    # -- listing ----------------------------------------------------------

    def _carried(
        self, servers: list[dict[str, Any]], aliases: list[str]
    ) -> str | None:
        """The alias whose attribute the listing shows, learnt; or None."""
        for alias in dict.fromkeys(aliases):
            if any(SERVER_ATTRIBUTE[alias] in s for s in servers):
                self._learn(alias)
                return alias
        return None

    def _from_listing(
        self, servers: list[dict[str, Any]], alias: str, all_servers: bool
    ) -> domain.ServerScheduleList:
        rows = domain.ServerScheduleList()
        for server in servers:
            found = domain.schedule_from_attribute(
                server.get(SERVER_ATTRIBUTE[alias])
            )
            if found is not None or all_servers:
                rows.append(_server_schedule(server, found))
        return rows

    def _list_servers(self, attribute: str | None) -> list[dict[str, Any]]:
        query = (
            parse.urlencode({attribute: "True"}, safe=":") if attribute else ""
        )
        servers: list[dict[str, Any]] = []
        for body in self._server_pages(query):
            page = body.get("servers") if isinstance(body, dict) else None
            if not isinstance(page, list) or not all(
                isinstance(server, dict) for server in page
            ):
                raise domain.MalformedResponseError(
                    "The cloud's server list is not a JSON object with a "
                    "list of servers under 'servers' (got "
                    f"{domain.describe_value(body)})."
                )
            servers.extend(page)
        return servers

    def _server_pages(self, query: str) -> Iterator[Any]:
        """Every page of the server list, however short or empty."""
        seen: set[str] = set()
        next_query: str | None = query
        while next_query is not None:
            seen.add(next_query)
            path = "/servers/detail" + (f"?{next_query}" if next_query else "")
            _, body = self._retried(
                lambda page=path: self.api.client.get(page)
            )
            yield body
            next_query = _next_query(body)
            if next_query in seen:
                return  # a link back to a page already read

    def _ask_each(
        self,
        servers: list[dict[str, Any]],
        all_servers: bool,
        concurrency: int,
    ) -> domain.ServerScheduleList:
        """One schedule GET per server, ``concurrency`` at a time."""
        pending = list(servers)
        answers: list[domain.Schedule | None | exceptions.NotFound] = []
        if pending and not self._alias_known:
            # One request first, so the alias is known before the rest
            # run in parallel (each would otherwise try both aliases).
            answers.append(self._schedule_or_none(pending[0]))
        rest = pending[len(answers) :]
        if rest:
            # Only this fallback needs threads: import them here, not at
            # every nova start-up.
            from concurrent import futures

            with futures.ThreadPoolExecutor(max(1, concurrency)) as pool:
                answers.extend(pool.map(self._schedule_or_none, rest))
        gone = [a for a in answers if isinstance(a, exceptions.NotFound)]
        if gone and len(gone) == len(answers):
            # Nova's generic 404 for every server: neither alias is
            # served by this cloud.
            raise gone[0]
        rows = domain.ServerScheduleList(used_fallback=True)
        for server, answer in zip(pending, answers, strict=True):
            if isinstance(answer, exceptions.NotFound):
                continue  # deleted since it was listed
            if answer is not None or all_servers:
                rows.append(_server_schedule(server, answer))
        return rows

    def _schedule_or_none(
        self, server: dict[str, Any]
    ) -> domain.Schedule | None | exceptions.NotFound:
        try:
            return self.get(str(server["id"])).to_schedule()
        except exceptions.NotFound as error:
            if str(getattr(error, "message", "")).startswith(
                "Scheduled images not enabled"
            ):
                return None
            return error

    # -- HTTP -------------------------------------------------------------

    def url(self, server_id: object, alias: str | None = None) -> str:
        """The sub-resource path of ``server_id``, id percent-quoted."""
        return f"/servers/{quote_id(server_id)}/{alias or self.alias}"

    def _send(
        self, method: str, server_id: object, alias: str, body: Any = None
    ) -> tuple[Any, Any]:
        url = self.url(server_id, alias)
        http = self.api.client
        if method == "POST":
            return self._retried(lambda: http.post(url, body=body))
        if method == "DELETE":
            return self._retried(lambda: http.delete(url))
        return self._retried(lambda: http.get(url))

    def _retried(self, send: Any) -> Any:
        return retry.call(self.retry_policy, send)

    def _call(
        self, method: str, server_id: object, body: Any = None
    ) -> tuple[Any, Any]:
        # Read both together: another thread may learn the alias while
        # this request is out, and what counts is what was known when it
        # was sent (else a generic 404 on the wrong alias would be taken
        # for "no such server").
        with self._alias_lock:
            alias, known = self.alias, self._alias_known
        try:
            answer = self._send(method, server_id, alias, body)
        except exceptions.NotFound as error:
            if known or is_extension_not_found(error):
                self._learn(alias)
                raise
            other = ALIASES[1 - ALIASES.index(alias)]
            try:
                answer = self._send(method, server_id, other, body)
            except exceptions.NotFound as second:
                if not is_extension_not_found(second):
                    # Neither alias knows the server: Nova's own 404.
                    raise error from None
                self._learn(other)
                raise
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

    def _resource(self, body: Any, resp: Any) -> ImageSchedule:
        schedule = domain.schedule_from_api(body)
        info: dict[str, Any] = {"retention": schedule.retention}
        if schedule.day_of_week is not None:
            info["day_of_week"] = schedule.day_of_week
        return ImageSchedule(self, info, loaded=True, resp=resp)


# The 1.0.0 name, for programs that import it. An alias, not a subclass:
# novaclient_ext imports exactly one Manager class by name.
ImageScheduleManager = ScheduleManager


def _server_schedule(
    server: dict[str, Any], found: domain.Schedule | None
) -> domain.ServerSchedule:
    return domain.ServerSchedule(
        server_id=str(server.get("id", "")),
        name=str(server.get("name") or ""),
        schedule=found,
    )


def _next_query(body: Any) -> str | None:
    """The query of the ``next`` link of a server list page, if any.

    Only the query is taken: Nova's link carries the filter and the
    marker, but its host comes from Nova's configuration and may not be
    the endpoint this client reaches Nova by.
    """
    links = body.get("servers_links") if isinstance(body, dict) else None
    for link in links or []:
        if isinstance(link, dict) and link.get("rel") == "next":
            href = str(link.get("href") or "")
            return parse.urlsplit(href).query
    return None
