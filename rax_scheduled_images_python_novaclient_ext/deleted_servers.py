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
"""Finding and deleting the images of deleted servers: the requests.

The decisions are :mod:`.orphans`'; this module reads what they need
and carries out a purge. The cost of a scan: one request per page of
the project's images, one per page of its server list, and for each
server an image names that the list does not show, ``GET
/servers/{id}`` (twice when the first answers 404), run concurrently.
A server in the list exists; one missing from it is not yet gone: only
a 404 from its own ``GET`` says so.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO, TypeVar

from novaclient import exceptions

from rax_scheduled_images_python_novaclient_ext import (
    bulk,
    clock,
    config,
    ids,
    orphans,
    retry,
)
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.catalog import catalog_region
from rax_scheduled_images_python_novaclient_ext.errors import Refused
from rax_scheduled_images_python_novaclient_ext.images import (
    ImageManager,
    NoProjectError,
)
from rax_scheduled_images_python_novaclient_ext.manager import (
    ScheduleManager,
    quote_id,
)

ItemT = TypeVar("ItemT")

DEFAULT_CONCURRENCY = config.DEFAULT_CONCURRENCY
SERVER_PAGE = 1000
# What a scan keeps of each image: what the list shows and the purge
# decides on (owner is checked again by the domain).
IMAGE_FIELDS = (
    "id",
    "name",
    "status",
    "created_at",
    "size",
    "owner",
    "protected",
    orphans.INSTANCE_OWNER_KEY,
    domain.INSTANCE_KEY,
    domain.CREATED_BY_KEY,
)


SCAN_INTERRUPTED = "Interrupted before any deletion: nothing was deleted."


class OrphanError(Refused):
    """A scan that must not go on (one line for the user)."""


@dataclasses.dataclass
class Scan:
    """The readings the orphan decisions are made on.

    ``checks``: how many ``GET /servers/{id}`` were sent (retries and
    second reads included); ``reasons``: why a server's existence is
    unknown.
    """

    project_id: str
    images: list[dict[str, Any]]
    groups: dict[str, list[Any]]
    existence: dict[str, orphans.Existence]
    reasons: dict[str, str]
    listed_servers: int = 0
    checks: int = 0

    def skipped_lines(self) -> list[str]:
        return [
            orphans.skipped_line(
                sid, self.reasons.get(sid, "no answer"), len(found)
            )
            for sid, found in sorted(self.groups.items())
            if self.existence.get(sid) is orphans.Existence.UNKNOWN
        ]


def check_same_region(
    cs: Any,
    images: ImageManager,
    consequence: str = "every server would look deleted",
) -> None:
    """Refuse when compute and image endpoints are in different regions.

    Servers of one region are unknown to another region's compute
    service: every image would look like a deleted server's (or, to a
    command that joins servers with images, every server imageless).

    :param consequence: what would go wrong, in the message.
    :raises OrphanError: naming both regions.
    """
    compute_region = catalog_region(cs.client)
    image_region = images.endpoint_region()
    if compute_region and image_region and compute_region != image_region:
        raise OrphanError(
            f"The compute endpoint is in region {compute_region} and the "
            f"image endpoint in region {image_region}: {consequence}. "
            "Choose one region (--os-region-name or "
            "OS_REGION_NAME) and run again."
        )


def listed_server_ids(cs: Any, policy: retry.RetryPolicy) -> set[str]:
    """The ids of every server the project's server list shows.

    :raises novaclient.exceptions.ClientException: when Nova refuses.
    """
    listing = ScheduleManager(cs, retry_policy=policy)
    servers = listing.server_list({"limit": SERVER_PAGE}, detail=False)
    found = (ids.canonical_server_id(server.get("id")) for server in servers)
    return {server_id for server_id in found if server_id}


class _ServerReader:
    """``GET /servers/{id}`` as an :class:`~.orphans.Existence`, counted."""

    def __init__(self, cs: Any, policy: retry.RetryPolicy) -> None:
        self.cs = cs
        self.policy = policy
        self.sent = 0
        self._lock = threading.Lock()

    def _get(self, server_id: str) -> Any:
        with self._lock:
            self.sent += 1
        return self.cs.client.get(f"/servers/{quote_id(server_id)}")

    def read(self, server_id: str) -> tuple[orphans.Existence, str]:
        """The answer, and (when not a clear one) why."""
        try:
            resp, body = retry.call(self.policy, lambda: self._get(server_id))
        except exceptions.ClientException as error:
            code = getattr(error, "code", None)
            status = code if isinstance(code, int) else None
            answer = orphans.classify_server_answer(server_id, status, None)
            return answer, f"HTTP {code}"
        except Exception as error:  # timeouts, resets: no answer
            return orphans.Existence.UNKNOWN, _reason(error)
        status = getattr(resp, "status_code", None)
        answer = orphans.classify_server_answer(server_id, status, body)
        return answer, "malformed answer"


def check_servers(
    cs: Any,
    server_ids: Sequence[str],
    policy: retry.RetryPolicy,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> tuple[dict[str, orphans.Existence], dict[str, str], int]:
    """Whether each server exists: (answers, reasons, requests sent).

    All servers are read once, concurrently; those that answered 404
    are read again after the whole first round (see
    :func:`.orphans.confirm`).
    """
    reader = _ServerReader(cs, policy)
    first = dict(_map(reader.read, server_ids, concurrency))
    gone = [
        sid
        for sid, (answer, _) in first.items()
        if answer is orphans.Existence.GONE
    ]
    second = dict(_map(reader.read, gone, concurrency))
    existence: dict[str, orphans.Existence] = {}
    reasons: dict[str, str] = {}
    for sid, (answer, reason) in first.items():
        again = second.get(sid)
        existence[sid] = orphans.confirm(answer, again and again[0])
        if existence[sid] is orphans.Existence.UNKNOWN:
            reasons[sid] = again[1] if again else reason
    return existence, reasons, reader.sent


def _map(
    read: Callable[[str], Any], ids: Sequence[str], concurrency: int
) -> list[tuple[str, Any]]:
    if not ids:
        return []
    workers = max(1, min(concurrency, len(ids)))
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        return list(zip(ids, pool.map(read, ids), strict=True))


def scan(
    cs: Any,
    images: ImageManager,
    *,
    include_kept: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    policy: retry.RetryPolicy | None = None,
) -> Scan:
    """Read the project's images and whether their servers exist.

    :raises OrphanError: for compute and image endpoints in different
        regions, or a session with no project (nothing is listed).
    :raises novaclient.exceptions.ClientException: when the Image API
        or Nova refuses a listing.
    """
    policy = policy or images.retry_policy
    check_same_region(cs, images)
    found: list[dict[str, Any]] = []
    try:
        for page in images.project_image_pages(
            marked_only=not include_kept, fields=IMAGE_FIELDS
        ):
            found.extend(page)
    except NoProjectError as error:
        raise OrphanError(str(error)) from None
    project_id = images.project_id() or ""
    groups = orphans.candidates(found, project_id, include_kept)
    listed = listed_server_ids(cs, policy) if groups else set()
    unlisted = [
        sid
        for sid in groups
        if sid not in listed and orphans.is_server_id(sid)
    ]
    existence, reasons, sent = check_servers(cs, unlisted, policy, concurrency)
    for sid in groups:
        if not orphans.is_server_id(sid):
            # Nothing to ask Nova: no answer could be about its server.
            existence[sid] = orphans.Existence.UNKNOWN
            reasons[sid] = orphans.NOT_A_SERVER_ID
        existence.setdefault(sid, orphans.Existence.EXISTS)
    return Scan(
        project_id,
        found,
        {sid: list(v) for sid, v in groups.items()},
        existence,
        reasons,
        listed_servers=len(listed),
        checks=sent,
    )


def plan(
    cs: Any,
    images: ImageManager,
    *,
    keep: int,
    older_than_days: float | None,
    include_kept: bool,
    now: datetime.datetime,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> tuple[Scan, orphans.PurgePlan]:
    """Read what a purge needs and decide it; nothing is deleted.

    "Server gone" is decided from ``cs`` alone: the compute service of
    the region ``images`` are in (:func:`check_same_region`).

    :raises OrphanError: see :func:`scan`.
    """
    found = scan(
        cs, images, include_kept=include_kept, concurrency=concurrency
    )
    older = (
        None
        if older_than_days is None
        else datetime.timedelta(days=older_than_days)
    )
    decided = orphans.plan_purge(
        found.images,
        found.project_id,
        found.existence,
        keep=keep,
        older_than=older,
        include_kept=include_kept,
        now=now,
    )
    return found, decided


def carry_out(
    images: ImageManager,
    found: Scan,
    decided: orphans.PurgePlan,
    *,
    yes: bool,
    concurrency: int,
    out: TextIO,
    err: TextIO,
) -> int:
    """Show a plan and, with ``yes``, delete exactly its images.

    :returns: how many deletions failed (0 for a dry run).
    :raises bulk.Interrupted: after Ctrl-C, its line written (while the
        plan is shown: :data:`SCAN_INTERRUPTED`).
    """
    try:
        _write(out, orphans.plan_lines(decided, dry_run=not yes))
        _write(err, found.skipped_lines() + orphans.spared_lines(decided))
    except KeyboardInterrupt:
        raise nothing_deleted(err) from None
    if not yes:
        if decided.delete:
            _write(err, ["Dry run: nothing deleted. Add --yes to delete."])
        return 0
    return _delete_all(images, decided.delete, concurrency, out, err)


def nothing_deleted(err: TextIO) -> bulk.Interrupted:
    """Ctrl-C before any deletion, said: else a user is left to guess
    whether the purge began."""
    _write(err, [SCAN_INTERRUPTED])
    return bulk.Interrupted(0, 0, [], line=SCAN_INTERRUPTED)


def purge(
    cs: Any,
    images: ImageManager,
    *,
    keep: int,
    older_than_days: float | None,
    include_kept: bool,
    yes: bool,
    now: datetime.datetime,
    concurrency: int = DEFAULT_CONCURRENCY,
    out: TextIO,
    err: TextIO,
) -> tuple[int, int]:
    """Delete (or, without ``yes``, show) the images of deleted servers.

    :returns: (failed, planned) deletions; (0, n) for a dry run.
    :raises OrphanError: see :func:`scan`.
    :raises bulk.Interrupted: after Ctrl-C, its line written (before
        the deletions: :data:`SCAN_INTERRUPTED`).
    """
    try:
        found, decided = plan(
            cs,
            images,
            keep=keep,
            older_than_days=older_than_days,
            include_kept=include_kept,
            now=now,
            concurrency=concurrency,
        )
    except KeyboardInterrupt:
        raise nothing_deleted(err) from None
    failed = carry_out(
        images,
        found,
        decided,
        yes=yes,
        concurrency=concurrency,
        out=out,
        err=err,
    )
    return failed, len(decided.delete)


def purge_as_asked(
    cs: Any,
    images: ImageManager,
    options: Any,
    out: TextIO,
    err: TextIO,
) -> None:
    """The purge a command line asked for: ``options`` carries ``keep``,
    ``older_than``, ``include_kept``, ``yes`` and ``concurrency``, as
    both front ends parse them; "now" is :func:`.clock.now`.

    :raises novaclient.exceptions.CommandError: ``N of M images could
        not be deleted.`` when any deletion failed (the others were
        still made).
    :raises OrphanError: see :func:`scan`.
    :raises bulk.Interrupted: after Ctrl-C, its line written.
    """
    failed, planned = purge(
        cs,
        images,
        keep=options.keep,
        older_than_days=options.older_than,
        include_kept=options.include_kept,
        yes=options.yes,
        now=clock.now(),
        concurrency=options.concurrency,
        out=out,
        err=err,
    )
    if failed:
        raise exceptions.CommandError(
            f"{failed} of {planned} images could not be deleted."
        )


def _delete_all(
    images: ImageManager,
    doomed: Iterable[Any],
    concurrency: int,
    out: TextIO,
    err: TextIO,
) -> int:
    """Delete each image, one line each; the failures' count.

    Ctrl-C stops it as every bulk change (:mod:`.bulk`): nothing more
    is started, what runs is reported, then the interrupted line.
    """
    failures: list[str] = []

    def label(image: Any) -> str:
        return f"{image.get('id')} ({image.get('name') or 'no name'})"

    def report(image: Any, _: Any, error: BaseException | None) -> None:
        if error is None:
            _write(out, [f"Deleted image {label(image)}."])
        else:
            failures.append(label(image))
            reason = _reason(error)
            _write(err, [f"Could not delete image {label(image)}: {reason}"])

    bulk.run(
        list(doomed),
        images.delete,
        report,
        concurrency,
        lambda image: str(image.get("id")),
        interrupted=lambda stopped: _write(err, [stopped.line]),
    )
    return len(failures)


def _write(stream: TextIO, lines: Iterable[str]) -> None:
    for line in lines:
        stream.write(line + "\n")
    # Out at once: a pipe would hold the plan back from whoever reads it
    # while the deletions run.
    flush = getattr(stream, "flush", None)
    if flush is not None:
        flush()


def _reason(error: BaseException) -> str:
    """What went wrong, on one line: the cloud's message and its HTTP
    code, without novaclient's request id."""
    text = getattr(error, "message", None) or str(error)
    words = " ".join(str(text).split()) or error.__class__.__name__
    code = getattr(error, "code", None)
    return f"{words} (HTTP {code})" if isinstance(code, int) else words


def orphan_list(
    cs: Any,
    images: ImageManager,
    *,
    include_kept: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> tuple[list[orphans.OrphanRow], list[str]]:
    """The rows of the orphan list, and the skipped servers' lines.

    :raises OrphanError: see :func:`scan`.
    """
    found = scan(
        cs, images, include_kept=include_kept, concurrency=concurrency
    )
    rows = orphans.orphan_rows(found.groups, found.existence)
    return rows, found.skipped_lines()
