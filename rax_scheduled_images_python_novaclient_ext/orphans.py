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
"""Images of deleted servers: which they are, and which a purge takes.

Pure decisions, no I/O. When a server is deleted its schedule goes, but
nothing ever deletes its scheduled images (the service reads the
retention as 0 and prunes nothing), so they stay billed. Finding them
needs two readings, made elsewhere: the project's images, and for each
server they name, whether the compute service says that server is gone.
Everything that decides what is shown and what is deleted is here, so
every safety rule is one function of data and "now".
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rax_scheduled_images_python_novaclient_ext import ids
from rax_scheduled_images_python_novaclient_ext import schedule as domain

# The keys of ``openstack scheduled image list --orphaned -f json``.
ORPHAN_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "server_id",
    "created_at",
    "status",
    "size_bytes",
    "counted",
)
# The same columns as the ``nova`` table shows them.
ORPHAN_TITLES: tuple[str, ...] = (
    "ID",
    "Name",
    "Server",
    "Created",
    "Status",
    "Size",
    "Counted",
)


class Existence(enum.Enum):
    """What the compute service said about one server in this run."""

    EXISTS = "exists"
    GONE = "gone"
    UNKNOWN = "unknown"


def classify_server_answer(
    server_id: str, status: int | None, body: object
) -> Existence:
    """One ``GET /servers/{id}`` answer as an :class:`Existence`.

    Only a 404 says "gone", and only a 200 whose body is that server says
    "exists". Anything else (401, 403, 5xx, no answer at all, a 200 with
    a body that is not the server) is UNKNOWN: a client that took a
    refusal or an outage for "deleted" would delete every image.
    """
    if status == 404:
        return Existence.GONE
    if status == 200 and isinstance(body, Mapping):
        server = body.get("server")
        if isinstance(server, Mapping) and ids.same_server(
            server.get("id"), server_id
        ):
            return Existence.EXISTS
    return Existence.UNKNOWN


def confirm(first: Existence, second: Existence | None) -> Existence:
    """A server is gone only when two separate reads both say so.

    The scheduler never deletes a schedule on a single Nova 404 ("a 404
    can be intermittent"); a purge is no less final. ``second`` is the
    second read, made only after a first GONE (None: not made).
    """
    if first is not Existence.GONE:
        return first
    if second is None or second is Existence.UNKNOWN:
        return Existence.UNKNOWN
    return second


# Nova (since Stein) puts the server's project on a snapshot taken from
# another project, and makes it shared.
INSTANCE_OWNER_KEY = "instance_owner"


def server_of(image: Mapping[str, Any]) -> str | None:
    """The server an image was taken of (``instance_uuid``), if any:
    in Nova's spelling when it is a server id (:mod:`.ids`), else as
    the image has it (see :func:`is_server_id`)."""
    value = image.get(domain.INSTANCE_KEY)
    if not isinstance(value, str) or not value.strip():
        return None
    return ids.canonical_server_id(value) or value


def is_server_id(server_id: str) -> bool:
    """False for a group key that is an ``instance_uuid`` no server can
    have: nothing can tell whether its server exists, so its images are
    "could not tell", never deleted."""
    return ids.canonical_server_id(server_id) == server_id


NOT_A_SERVER_ID = "its instance_uuid is not a server ID"


def candidates(
    images: Iterable[Mapping[str, Any]],
    project_id: str,
    include_kept: bool = False,
) -> dict[str, list[Mapping[str, Any]]]:
    """The images that may be of deleted servers, grouped by server.

    Only the project's own images (the Image API also lists public and
    shared ones, whose servers this project cannot see and which it
    could never be billed for), that name a server, not one Nova says
    is another project's (``instance_owner``), and that carry the
    service's marker unless ``include_kept``. Servers in first-seen
    order; each server's images oldest first.
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for image in images:
        server_id = server_of(image)
        if server_id is None or image.get("owner") != project_id:
            continue
        if image.get(INSTANCE_OWNER_KEY) not in (None, "", project_id):
            # Nova's snapshot of another project's server (an admin's):
            # that server is invisible here, not gone.
            continue
        if not include_kept and not domain.is_marked(image):
            continue
        groups.setdefault(server_id, []).append(image)
    return {
        server_id: list(domain.sort_oldest_first(found))
        for server_id, found in groups.items()
    }


@dataclasses.dataclass(frozen=True)
class OrphanRow:
    """One image of a deleted server, as the orphan list shows it."""

    id: str
    name: str
    server_id: str
    created_at: str
    status: str
    size_bytes: int | None
    counted: str  # the Counted column's word (ids.count_state)

    def values(self) -> tuple[Any, ...]:
        """The row in :data:`ORPHAN_COLUMNS` order, typed for JSON."""
        return (
            self.id,
            self.name,
            self.server_id,
            self.created_at,
            self.status,
            self.size_bytes,
            self.counted,
        )

    def cells(self) -> tuple[str, ...]:
        """The row as text, for the ``nova`` table."""
        *head, size, counted = self.values()
        return (*head, "" if size is None else str(size), counted)


def size_of(image: Mapping[str, Any]) -> int | None:
    """The image's size in bytes (None while the Image API has none)."""
    size = image.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        return None
    return size


def row(image: Mapping[str, Any]) -> OrphanRow:
    return OrphanRow(
        id=str(image.get("id", "")),
        name=str(image.get("name") or ""),
        server_id=server_of(image) or "",
        created_at=str(image.get("created_at") or ""),
        status=str(image.get("status") or ""),
        size_bytes=size_of(image),
        counted=ids.count_state(domain.is_marked(image), image.get("status")),
    )


def orphan_rows(
    groups: Mapping[str, Sequence[Mapping[str, Any]]],
    existence: Mapping[str, Existence],
) -> list[OrphanRow]:
    """The images of the servers known to be gone, grouped by server
    (in server id order), each server's oldest first."""
    return [
        row(image)
        for server_id in sorted(groups)
        if existence.get(server_id) is Existence.GONE
        for image in groups[server_id]
    ]


def total_bytes(images: Iterable[Mapping[str, Any]]) -> int:
    return sum(size_of(image) or 0 for image in images)


def describe_bytes(size: int) -> str:
    """``5368709120 bytes (5.0 GiB)``: exact, and readable."""
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            break
        value /= 1024
    if unit == "bytes":
        return f"{size} bytes"
    return f"{size} bytes ({value:.1f} {unit})"


def total_line(rows: Sequence[OrphanRow], verb: str = "Total") -> str:
    """``Total: 3 images, 3221225472 bytes (3.0 GiB)``."""
    size = sum(r.size_bytes or 0 for r in rows)
    plural = "" if len(rows) == 1 else "s"
    return f"{verb}: {len(rows)} image{plural}, {describe_bytes(size)}"


# --- the purge -------------------------------------------------------------

KEPT_NEWEST = "one of the newest {keep} active images of its server"
KEPT_THE_NEWEST = "the newest active image of its server"
KEPT_YOUNG = "not more than {days} days old"
KEPT_NO_TIME = "its creation time is unreadable"
KEPT_PROTECTED = (
    "it is protected (protected: true), so the Image API would refuse "
    "to delete it"
)


@dataclasses.dataclass(frozen=True)
class PurgePlan:
    """What a purge deletes and what it leaves, and why.

    ``delete``: the images to delete, by server (server id order), each
    server's oldest first. ``spared``: (image, reason) of the images of
    gone servers that stay. ``skipped``: servers whose existence could
    not be told; none of their images is touched.
    """

    delete: tuple[Mapping[str, Any], ...]
    spared: tuple[tuple[Mapping[str, Any], str], ...]
    skipped: tuple[str, ...]

    @property
    def delete_rows(self) -> list[OrphanRow]:
        return [row(image) for image in self.delete]


def plan_purge(
    images: Iterable[Mapping[str, Any]],
    project_id: str,
    existence: Mapping[str, Existence],
    *,
    keep: int = 1,
    older_than: datetime.timedelta | None = None,
    include_kept: bool = False,
    now: datetime.datetime,
) -> PurgePlan:
    """The images a purge deletes.

    Of the :func:`candidates` (own images, marked unless
    ``include_kept``), only those of servers whose existence is GONE
    (and never those whose ``instance_uuid`` is no server id). GONE
    means this project cannot see the server: deleted, or never this
    project's (an image copied in from another account); the API tells
    those apart for no one. Protected images stay (the Image API
    refuses their deletion).
    Of each such server's images, the newest ``keep`` ACTIVE ones stay
    (a deleted server's last good backup is what someone will need; an
    image that failed is no backup), as does every image created less
    ``older_than`` or less before ``now``, or whose creation time cannot
    be read. Servers whose existence is anything but GONE or EXISTS are
    reported as skipped.

    :raises ValueError: for a negative ``keep`` or ``older_than``.
    """
    if keep < 0:
        raise ValueError("keep cannot be negative")
    if older_than is not None and older_than < datetime.timedelta(0):
        raise ValueError("older_than cannot be negative")
    groups = candidates(images, project_id, include_kept)
    delete: list[Mapping[str, Any]] = []
    spared: list[tuple[Mapping[str, Any], str]] = []
    skipped: list[str] = []
    for server_id in sorted(groups):
        answer = existence.get(server_id, Existence.UNKNOWN)
        if not is_server_id(server_id):
            # No id, no answer about it can be about its server.
            answer = Existence.UNKNOWN
        if answer is Existence.UNKNOWN:
            skipped.append(server_id)
        if answer is not Existence.GONE:
            continue
        newest = _newest_active_ids(groups[server_id], keep)
        for image in groups[server_id]:
            reason = _spared_because(image, newest, keep, older_than, now)
            if reason is None:
                delete.append(image)
            else:
                spared.append((image, reason))
    return PurgePlan(tuple(delete), tuple(spared), tuple(skipped))


def _spared_because(
    image: Mapping[str, Any],
    newest: frozenset[str],
    keep: int,
    older_than: datetime.timedelta | None,
    now: datetime.datetime,
) -> str | None:
    created = domain.parse_timestamp(image.get("created_at"))
    if image.get("protected") is True:
        return KEPT_PROTECTED
    if created is None:
        return KEPT_NO_TIME
    if str(image.get("id")) in newest:
        # "one of the newest 1" reads as a slip: one image is "the".
        return KEPT_THE_NEWEST if keep == 1 else KEPT_NEWEST.format(keep=keep)
    # "More than DAYS days old": an image exactly that old stays.
    if older_than is not None and now - created <= older_than:
        return KEPT_YOUNG.format(days=format_days(older_than))
    return None


def format_days(age: datetime.timedelta) -> str:
    """``3``, ``2.5``: a number of days as typed."""
    days = age.total_seconds() / 86400
    return f"{days:g}" if days != int(days) else str(int(days))


def _newest_active_ids(
    group: Sequence[Mapping[str, Any]], keep: int
) -> frozenset[str]:
    active = [
        image
        for image in group
        if str(image.get("status", "")).upper() == "ACTIVE"
        and domain.parse_timestamp(image.get("created_at")) is not None
    ]
    newest = list(reversed(domain.sort_oldest_first(active)))
    return frozenset(str(image.get("id")) for image in newest[:keep])


def plan_lines(plan: PurgePlan, dry_run: bool) -> list[str]:
    """What a purge is about to delete (or, dry, would delete)."""
    rows = plan.delete_rows
    verb = "Would delete" if dry_run else "Deleting"
    if not rows:
        return ["No images of deleted servers to delete."]
    lines = [total_line(rows, verb)]
    for shown in rows:
        lines.append(
            f"  {shown.id}  {shown.name}  server {shown.server_id}  "
            f"{shown.created_at}  {describe_bytes(shown.size_bytes or 0)}"
        )
    return lines


def spared_lines(plan: PurgePlan) -> list[str]:
    """One line per image of a deleted server the purge leaves."""
    return [
        f"Keeping image {image.get('id')} of server {server_of(image)}: "
        f"{reason}."
        for image, reason in plan.spared
    ]


def skipped_line(server_id: str, reason: str, count: int) -> str:
    plural = "" if count == 1 else "s"
    # An instance_uuid that is no id is quoted: blanks and all.
    shown = server_id if is_server_id(server_id) else repr(server_id)
    return (
        f"Skipped server {shown}: could not tell whether it exists "
        f"({reason}); its {count} image{plural} left alone."
    )


def skipped_summary(count: int) -> str:
    """The orphan list's last word when it is incomplete (exit 1)."""
    if count == 1:
        return (
            "1 server skipped (could not tell whether it exists): its "
            "images are not in this list."
        )
    return (
        f"{count} servers skipped (could not tell whether they exist): "
        "their images are not in this list."
    )


def parse_days(value: str) -> float:
    """``--older-than``: a number of days, 0 or more, decimals allowed.

    :raises argparse.ArgumentTypeError: for anything else.
    """
    text = value.strip() if isinstance(value, str) else ""
    try:
        days = float(text) if text.isascii() else -1.0
    except ValueError:
        days = -1.0
    if not 0 <= days < 1e6:  # also NaN and inf
        import argparse

        raise argparse.ArgumentTypeError(
            f"invalid number of days '{value}': it must be a number, 0 "
            "or more (decimals allowed)."
        )
    return days


def parse_count(value: str) -> int:
    """A whole number of 0 or more typed on the command line
    (``--keep``).

    :raises argparse.ArgumentTypeError: for anything else.
    """
    text = value.strip() if isinstance(value, str) else ""
    if not text.isascii() or not text.isdigit():
        # Imported here: argparse is only needed when a value is wrong.
        import argparse

        raise argparse.ArgumentTypeError(
            f"invalid count '{value}': it must be a whole number, 0 or more."
        )
    return int(text)
