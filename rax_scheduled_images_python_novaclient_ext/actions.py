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
user typed); the ``openstack`` side turns them into osc-lib's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO, TypeVar

from novaclient import exceptions, utils
from oslo_utils import uuidutils

from rax_scheduled_images_python_novaclient_ext import retry
from rax_scheduled_images_python_novaclient_ext import schedule as domain

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
        # Nova's name filter is a pattern search: keep exact matches only.
        listed = retry.call(
            policy,
            lambda: cs.servers.list(
                detailed=False, search_opts={"name": server}
            ),
        )
        exact = [found for found in listed if found.name == server]
        if len(exact) == 1:
            return exact[0]
        if len(exact) > 1:
            raise exceptions.CommandError(
                f"Multiple server matches found for '{server}', use an ID "
                "to be more specific."
            )
    # novaclient's lookup sends its own requests: give them the same
    # retries as ours.
    return retry.call(policy, lambda: utils.find_resource(cs.servers, server))


def on_server(
    cs: Any,
    server: str,
    action: Callable[[str], T],
    policy: retry.RetryPolicy,
) -> T:
    """Run ``action`` with the id of the server named by ``server``.

    A UUID goes straight to the scheduled-images call, which proves the
    server exists, saving the lookup a name needs. If Nova answers that
    no such server exists, the usual lookup runs to give novaclient's own
    message (or to find a server whose name merely looks like a UUID).
    """
    if not uuidutils.is_uuid_like(server):
        return action(str(find_server(cs, server, policy).id))
    try:
        return action(server)
    except exceptions.NotFound as error:
        if is_no_schedule(error):
            raise
        server_id = str(find_server(cs, server, policy).id)
        if server_id == server:
            raise
        return action(server_id)


def is_no_schedule(error: exceptions.NotFound) -> bool:
    """True for the "no schedule" 404, not Nova's "no such server"."""
    message = str(getattr(error, "message", ""))
    return message.startswith("Scheduled images not enabled") or (
        "image schedule does not exist" in message.lower()
    )


def retention_of(schedules: Any, server_id: str) -> int | None:
    """The server's retention; None when it has no schedule.

    :raises novaclient.exceptions.NotFound: Nova's own 404 (no server).
    """
    try:
        return int(schedules.get(server_id).retention)
    except exceptions.NotFound as error:
        if is_no_schedule(error):
            return None
        raise


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

    :raises novaclient.exceptions.CommandError: for an image of no
        server, before anything is changed.
    """
    by_server: dict[str, list[dict[str, Any]]] = {}
    for image in found:
        try:
            server_id = domain.check_releasable(image)
        except domain.ScheduleError as error:
            raise exceptions.CommandError(str(error)) from None
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
    """
    try:
        retention = retention_of(schedules, server_id)
    except exceptions.NotFound:
        retention = None  # the server is gone: nothing of it is pruned
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

    :raises novaclient.exceptions.CommandError: for an image of no
        server, before anything is sent that changes anything.
    """
    lines: list[str] = []
    for server_id, releasing in group_by_server(found).items():
        changing = [i for i in releasing if not domain.is_marked(i)]
        if changing:
            lines += release_forecast(images, schedules, server_id, changing)
    return lines


# --- lowering a retention -----------------------------------------------

READ = object()  # set_schedule's "read the current schedule first"


def current_schedule(schedules: Any, server_id: str) -> domain.Schedule | None:
    """The server's schedule; None when it has none.

    :raises novaclient.exceptions.NotFound: Nova's own 404 (no server).
    """
    try:
        found: domain.Schedule = schedules.get(server_id).to_schedule()
    except exceptions.NotFound as error:
        if is_no_schedule(error):
            return None
        raise
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
    server_id: str,
    label: str,
    wanted: domain.Schedule,
    *,
    dry_run: bool,
    err: TextIO,
    current: Any = READ,
) -> domain.Schedule:
    """Set ``wanted``, first warning on ``err`` of what a lower retention
    deletes at the next run; with ``dry_run`` only the warning.

    :param current: the schedule already read, if it was (else it is).
    :returns: the schedule set (or, dry, that would be).
    """
    if current is READ:
        current = current_schedule(schedules, server_id)
    lines = lowering_forecast(images, server_id, label, current, wanted)
    if lines:
        # One write: concurrent servers' warnings must not interleave.
        err.write("".join(line + "\n" for line in lines))
    if dry_run:
        return wanted
    done: domain.Schedule = schedules.set(server_id, wanted).to_schedule()
    return done
