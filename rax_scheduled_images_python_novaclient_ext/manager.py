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
``ScheduleManager(client)``.

The API answers GET and DELETE of a server's schedule without looking
the server up: a server that does not exist (or belongs to another
project) gets the same answer as one without a schedule. So where that
answer proves nothing, a bare id costs one more request,
``GET /servers/{id}``, to tell the two apart; a GET that answers 200, a
POST (which checks the server itself) and a ``Server`` object (already
read from Nova) need none. The HTTP side, and the reading of the
cloud's 404s, is :mod:`.subresource`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib import parse

from novaclient import base, exceptions

from rax_scheduled_images_python_novaclient_ext import config
from rax_scheduled_images_python_novaclient_ext import schedule as domain

# The alias names stay importable from here, where programs found them.
from rax_scheduled_images_python_novaclient_ext.config import (
    ALIAS_ENV,  # noqa: F401 (re-exported)
    ALIASES,
    DEFAULT_ALIAS,  # noqa: F401 (re-exported)
    RACKSPACE_ALIAS,  # noqa: F401 (re-exported)
    SERVER_ATTRIBUTE,
)
from rax_scheduled_images_python_novaclient_ext.errors import (
    NoSchedule,
    NoSuchServer,  # noqa: F401 (re-exported)
)
from rax_scheduled_images_python_novaclient_ext.subresource import (
    AliasedManager,
    quote_id,  # noqa: F401 (re-exported: images.py and programs use it)
    resolve_alias,  # noqa: F401 (re-exported)
)


def _known(server: Any) -> bool:
    """A ``Server`` object was read from Nova: it proves the server."""
    return hasattr(server, "id")


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


class ScheduleManager(AliasedManager):
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

    # -- the Python API ---------------------------------------------------

    def get(self, server: Any, *, confirm: bool = True) -> ImageSchedule:
        """Return the image schedule of ``server`` (an id or a Server).

        One request when the server has a schedule. The API answers a
        server that does not exist (or belongs to another project) with
        the same 404 as a server without a schedule, so after that 404
        an id costs one more request, ``GET /servers/{id}``, to tell
        them apart; a ``Server`` object (read from Nova) needs none.

        :param confirm: False skips that request, for a caller whose
            next request checks the server anyway (a POST); the 404 is
            then raised as :class:`NoSchedule`.
        :raises NoSchedule: (a ``novaclient.exceptions.NotFound``)
            ``Scheduled images not enabled for server <id>`` when it has
            no schedule.
        :raises NoSuchServer: (a ``NotFound`` too) ``No server with a
            name or ID of '<id>' exists.`` when no server of this
            project has the id.
        :raises novaclient.exceptions.NotFound: Nova's generic 404 when
            the cloud serves neither API alias.
        :raises MalformedResponseError: when the answer is not a schedule.
        """
        server_id = base.getid(server)
        try:
            resp, body = self._call("GET", server_id)
        except NoSchedule:
            if confirm and not _known(server):
                self.confirm_server(server_id)
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
        """Set exactly the schedule ``wanted`` on ``server``.

        :raises NoSuchServer: when no server of this project has the id
            (the API checks it: no extra request).
        """
        server_id = base.getid(server)
        resp, body = self._call("POST", server_id, wanted.to_body())
        return self._resource(body, resp)

    def disable(self, server: Any) -> None:
        """Disable scheduled images on ``server``.

        Images already taken stay. A server that has no schedule is
        already disabled, which is not an error (Rackspace's service
        answers 202 there, the original extension its 404).

        An id is confirmed first with ``GET /servers/{id}`` (a
        ``Server`` object needs no such request): the API answers a
        server that does not exist exactly as one without a schedule,
        so only that read can tell that nothing was disabled.

        :raises NoSuchServer: when no server of this project has the
            id; no DELETE is sent.
        """
        server_id = base.getid(server)
        if not _known(server):
            self.confirm_server(server_id)
        try:
            self._call("DELETE", server_id)
        except NoSchedule:
            pass

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
        return self.server_list({attribute: "True"} if attribute else None)

    def server_list(
        self, filters: dict[str, Any] | None = None, *, detail: bool = True
    ) -> list[dict[str, Any]]:
        """Every server of the project as Nova lists it (JSON objects).

        ``GET /servers/detail`` (or ``/servers``) with ``filters``, every
        ``servers_links`` next link followed: Nova applies the schedule
        filter after paging, so a short or even empty page does not mean
        the end.

        :raises MalformedResponseError: for a page that is not a list of
            servers.
        :raises novaclient.exceptions.ClientException: when Nova refuses.
        """
        query = parse.urlencode(filters or {}, safe=":")
        servers: list[dict[str, Any]] = []
        for body in self._server_pages(query, detail):
            page = body.get("servers") if isinstance(body, dict) else None
            servers.extend(
                domain.object_list(
                    page,
                    "The cloud's server list is not a JSON object with a "
                    "list of servers under 'servers'",
                    body,
                )
            )
        return servers

    def _server_pages(self, query: str, detail: bool) -> Iterator[Any]:
        """Every page of the server list, however short or empty."""
        base_path = "/servers/detail" if detail else "/servers"
        seen: set[str] = set()
        next_query: str | None = query
        while next_query is not None:
            seen.add(next_query)
            path = base_path + (f"?{next_query}" if next_query else "")
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
        # Listed servers are known: their 404 needs no confirming.
        try:
            return self.get(str(server["id"]), confirm=False).to_schedule()
        except NoSchedule:
            return None
        except exceptions.NotFound as error:
            return error

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
    metadata = server.get("metadata")
    return domain.ServerSchedule(
        server_id=str(server.get("id", "")),
        name=str(server.get("name") or ""),
        schedule=found,
        metadata=(
            {str(k): str(v) for k, v in metadata.items()}
            if isinstance(metadata, dict)
            else {}
        ),
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
