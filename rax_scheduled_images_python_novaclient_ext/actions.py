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
"""The steps both front ends take, so ``nova`` and ``openstack`` agree.

Finding a server or images by name or ID, reading a server's retention,
and working out the text that forecasts a release. Each sends requests
through the managers and decides nothing itself: the decisions are in
:mod:`.schedule`. Errors are novaclient's (``CommandError`` for what a
user typed) and the types of :mod:`.errors`; each front end converts
them once, at its command boundary. As in novaclient (``cs.servers``), a
plural noun names a manager (``images``, ``schedules``); lists of what
they return are ``found`` or ``listed``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO, TypeVar

from novaclient import base, exceptions, utils
from oslo_utils import uuidutils

from rax_scheduled_images_python_novaclient_ext import ids, retry
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.errors import (
    NoSchedule,
    NoSuchServer,
)

T = TypeVar("T")


def require_name(value: str, what: str = "server") -> None:
    """Refuse an empty name before anything is sent.

    :raises novaclient.exceptions.CommandError: for "" or blanks.
    """
    if not value or not value.strip():
        article = "An" if what[0] in "aeiou" else "A"
        raise exceptions.CommandError(
            f"{article} {what} name or ID is required, not an empty string."
        )


def find_server(cs: Any, server: str, policy: retry.RetryPolicy) -> Any:
    """The Server named (or identified) by ``server``, with novaclient's
    messages for unknown and ambiguous names.

    A name costs one request: novaclient's own lookup lists the matches
    and then reads each one again by id, which a command that needs only
    the id and the name can skip. Anything else (an id, a name nothing
    matches exactly) goes through novaclient's lookup, so its rules and
    messages stay the same.

    :raises novaclient.exceptions.CommandError: no such server, or more
        than one of that name.
    """
    require_name(server)
    if not uuidutils.is_uuid_like(server):
        found = _named(cs, server, policy)
        if found is not None:
            return found
    # novaclient's lookup sends its own requests: give them the same
    # retries as ours. A UUID is looked up as Nova spells it.
    lookup = ids.canonical_server_id(server) or server
    return retry.call(policy, lambda: utils.find_resource(cs.servers, lookup))


def _named(cs: Any, name: str, policy: retry.RetryPolicy) -> Any | None:
    """The one server named exactly ``name``; None when there is none.

    :raises novaclient.exceptions.CommandError: more than one.
    """
    listed = retry.call(
        policy,
        lambda: cs.servers.list(detailed=False, search_opts={"name": name}),
    )
    # Nova's name filter is a pattern search: keep exact matches only.
    exact = [found for found in listed if found.name == name]
    if len(exact) > 1:
        raise exceptions.CommandError(
            f"Multiple server matches found for '{name}', use an ID "
            "to be more specific."
        )
    return exact[0] if exact else None


def on_server(
    cs: Any,
    server: str,
    action: Callable[[Any], T],
    policy: retry.RetryPolicy,
) -> T:
    """Run ``action`` on the server named by ``server``.

    ``action`` gets the ``Server`` found when ``server`` is a name (the
    lookup proved it exists, so the managers ask nothing more), and the
    UUID as typed otherwise: the scheduled-images call goes first, and
    the manager confirms the server only where the API's answer proves
    nothing (see :mod:`.manager`). When no server has that id, a server
    whose name merely looks like a UUID is looked for before novaclient's
    "No server with a name or ID of ... exists." is raised.

    :raises novaclient.exceptions.CommandError: no such server, or more
        than one of that name.
    """
    if not uuidutils.is_uuid_like(server):
        return action(find_server(cs, server, policy))
    # As Nova spells it (24ADE2FE-... and 24ade2fe... are one server):
    # the requests carry that spelling, the messages the one typed.
    server_id = ids.canonical_server_id(server) or server
    try:
        return action(server_id)
    except NoSchedule:
        raise
    except NoSuchServer:
        found = _named(cs, server, policy)
        if found is None:
            raise exceptions.CommandError(
                NoSuchServer(server).message
            ) from None
    except exceptions.NotFound:
        # Nova's generic 404 on both aliases, from a cloud that serves
        # neither: novaclient's lookup says whether the server exists.
        found = find_server(cs, server_id, policy)
        if ids.same_server(found.id, server_id):
            raise
    return action(found)


def retention_of(schedules: Any, server: Any) -> int | None:
    """The retention of ``server``'s schedule; None when it has none.

    :param server: an id (confirmed as ``ScheduleManager.get`` does) or
        a ``Server``.
    :raises NoSuchServer: when no server of this project has the id.
    """
    try:
        return int(schedules.get(server).retention)
    except NoSchedule:
        return None


def id_and_retention(schedules: Any, server: Any) -> tuple[str, int | None]:
    """``server``'s id and :func:`retention_of` it, for :func:`on_server`."""
    return str(base.getid(server)), retention_of(schedules, server)


# Printed on stderr by both front ends' schedule lists.
FALLBACK_NOTE = (
    "This cloud's server list does not show image schedules: each "
    "server's schedule was asked for on its own."
)


def no_schedule_note(server_id: str) -> str:
    return (
        f"Server {server_id} has no image schedule: the scheduled images "
        "service will delete none of its images."
    )


def find_images(images: Any, names: Sequence[str]) -> list[dict[str, Any]]:
    """Every image named, each once, all found before anything changes.

    :raises novaclient.exceptions.CommandError: for an empty, unknown or
        ambiguous name.
    """
    found: dict[str, dict[str, Any]] = {}
    for name in names:
        require_name(name, "image")
        try:
            image = images.find(name)
        except (exceptions.NotFound, exceptions.NoUniqueMatch) as error:
            message = getattr(error, "message", None) or str(error)
            raise exceptions.CommandError(message) from None
        found.setdefault(str(image["id"]), image)
    return list(found.values())


def image_label(image: dict[str, Any]) -> str:
    """How an image is named in one-line reports: ``id (name)``."""
    return f"{image['id']} ({image.get('name') or 'no name'})"


def group_by_server(
    found: Iterable[dict[str, Any]],
) -> dict[str, list[dict[str, Any]]]:
    """Images to release, by the server whose count they rejoin.

    :raises ScheduleError: for an image of no server, before anything is
        changed.
    """
    by_server: dict[str, list[dict[str, Any]]] = {}
    for image in found:
        server_id = domain.check_releasable(image)
        by_server.setdefault(server_id, []).append(image)
    return by_server


def release_forecast(
    images: Any,
    schedules: Any,
    server_id: str,
    releasing: list[dict[str, Any]],
) -> list[str]:
    """The lines that say what the next run deletes once ``releasing``
    (images of ``server_id``) carry the marker again.

    :raises NoSuchServer: when the images' server does not exist (or
        is another project's): nothing can be forecast for it.
    """
    retention = retention_of(schedules, server_id)
    if retention is None:
        return [no_schedule_note(server_id)]
    listed = {str(i["id"]): i for i in images.list_for_server(server_id)}
    for image in releasing:
        listed.setdefault(str(image["id"]), image)
    releasing_ids = {str(image["id"]) for image in releasing}
    doomed = domain.plan_release(
        listed.values(), server_id, retention, releasing_ids
    )
    head = (
        f"At its next run for server {server_id} (retention {retention}), "
        "the scheduled images service will delete"
    )
    if not doomed:
        return [f"{head} no images."]
    lines = [f"{head} {len(doomed)} image{'s' if len(doomed) > 1 else ''}:"]
    for shown in domain.sort_oldest_first(listed.values()):
        shown_id = str(shown["id"])
        if shown_id in doomed:
            note = "  (released now)" if shown_id in releasing_ids else ""
            lines.append(f"  {shown_id}  {shown.get('name') or ''}{note}")
    return lines


def release_forecasts(
    images: Any, schedules: Any, found: Iterable[dict[str, Any]]
) -> list[str]:
    """The forecast for every server whose count a release changes.

    :raises ScheduleError: for an image of no server, before anything
        is sent that changes anything.
    :raises NoSuchServer: for an image whose server does not exist,
        before anything is sent that changes anything.
    """
    lines: list[str] = []
    for server_id, releasing in group_by_server(found).items():
        changing = [i for i in releasing if not domain.is_marked(i)]
        if changing:
            lines += release_forecast(images, schedules, server_id, changing)
    return lines


# --- lowering a retention -----------------------------------------------

READ = object()  # set_schedule's "read the current schedule first"


def current_schedule(
    schedules: Any, server: Any, *, confirm: bool
) -> domain.Schedule | None:
    """The schedule of ``server`` (an id or a Server); None when it has
    none.

    :param confirm: tell a server that does not exist from one without a
        schedule (``GET /servers/{id}`` after the API's 404). Not needed
        when a POST follows, which checks the server itself.
    :raises NoSuchServer: when ``confirm`` found no such server.
    """
    try:
        found: domain.Schedule = schedules.get(
            server, confirm=confirm
        ).to_schedule()
    except NoSchedule:
        return None
    return found


def lowering_forecast(
    images: Callable[[], Any],
    server_id: str,
    label: str,
    current: domain.Schedule | None,
    wanted: domain.Schedule,
) -> list[str]:
    """What the next run deletes once the retention is ``wanted``'s.

    Empty unless the retention goes down: raising it, or a first
    schedule, sends no image request. The images the next run deletes
    are :func:`.schedule.plan_prune`'s, as ``image-list`` shows them.
    """
    if current is None or wanted.retention >= current.retention:
        return []
    listed = images().list_for_server(server_id)
    doomed = domain.plan_prune(listed, server_id, wanted.retention)
    head = (
        f"Retention {current.retention} -> {wanted.retention}: the next "
        f"scheduled image of {label} deletes"
    )
    if not doomed:
        return [f"{head} no images."]
    plural = "s" if len(doomed) > 1 else ""
    lines = [f"{head} {len(doomed)} image{plural}:"]
    for image in domain.sort_oldest_first(listed):
        if str(image.get("id")) in doomed:
            lines.append(
                f"  {image['id']}  {image.get('name') or ''}  "
                f"{image.get('created_at') or ''}"
            )
    return lines


def set_schedule(
    schedules: Any,
    images: Callable[[], Any],
    server: Any,
    label: str,
    wanted: domain.Schedule,
    *,
    dry_run: bool,
    err: TextIO,
    current: Any = READ,
) -> domain.Schedule:
    """Set ``wanted`` on ``server`` (an id or a Server) and say on ``err``
    what a lower retention deletes at the next run; with ``dry_run`` only
    say it.

    The images are read before the change, and the warning is written
    once the change is made: a POST that fails, or a Ctrl-C that stops
    this server before its POST, leaves no warning about a change that
    did not happen.

    :param current: the schedule already read, if it was (else it is,
        and for a dry run, whose answer no POST checks, the server is
        confirmed).
    :returns: the schedule set (or, dry, that would be).
    :raises NoSuchServer: for a server that does not exist.
    """
    if current is READ:
        current = current_schedule(schedules, server, confirm=dry_run)
    server_id = str(base.getid(server))
    lines = lowering_forecast(images, server_id, label, current, wanted)
    done = wanted
    if not dry_run:
        # Ctrl-C between the read and the POST: nothing is changed for
        # it. (bulk brings threads: imported when a schedule is set, not
        # at every nova start-up.)
        from rax_scheduled_images_python_novaclient_ext import bulk

        change = bulk.unless_stopped(schedules.set)
        done = change(server, wanted).to_schedule()
    if lines:
        # One write: concurrent servers' warnings must not interleave.
        err.write("".join(line + "\n" for line in lines))
    return done
