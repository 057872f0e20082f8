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
"""The ``nova scheduled-images-*`` commands.

python-novaclient loads this module through the ``novaclient.extension``
entry point named ``rax_scheduled_images_python_novaclient_ext``. It turns
every ``do_*`` function here into a command, and attaches the LAST
``novaclient.base.Manager`` subclass it finds in this module's namespace
(imported ones included) to the client under the entry point's name. So
exactly one Manager class may be imported here by name: the schedule
manager. Other managers are reached through their module.

Why the top-level directory has no ``__init__.py``: python-novaclient also
scans sys.path for regular packages whose name ends in
``_python_novaclient_ext``. A regular package of this name would be loaded
by that scan AND by the entry point (every command then fails with
"conflicting subparser"), and on Python 3.12+ the scan itself crashes
("'FileFinder' object has no attribute 'find_module'"). The scan skips
directories without ``__init__.py``, so only the entry point loads us.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from novaclient import exceptions, utils

from rax_scheduled_images_python_novaclient_ext import (
    actions,
    bulk,
    clock,
    fleet,
    health,
    terminal,
)
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.config import (
    DEFAULT_CONCURRENCY,
)
from rax_scheduled_images_python_novaclient_ext.errors import (
    NoSchedule,
    NoSuchServer,
    Refused,
)
from rax_scheduled_images_python_novaclient_ext.manager import (
    ScheduleManager,
)

if TYPE_CHECKING:
    # Imported when an image command runs (see _images), not at every
    # nova start-up; and by module, never by class: see the docstring.
    from rax_scheduled_images_python_novaclient_ext import images as images_api

EXTENSION_NAME = "rax_scheduled_images_python_novaclient_ext"

T = TypeVar("T")


def _schedules(cs: Any) -> ScheduleManager:
    manager = getattr(cs, EXTENSION_NAME, None)
    if isinstance(manager, ScheduleManager):
        return manager
    return ScheduleManager(cs)


_Command = Callable[[Any, argparse.Namespace], None]


def _error_boundary(command: _Command) -> _Command:
    """The one place a ``nova`` command's errors become what novaclient's
    shell prints (``ERROR (<class>): <message>``, exit 1)."""

    @functools.wraps(command)
    def run(cs: Any, args: argparse.Namespace) -> None:
        try:
            command(cs, args)
        except (domain.ScheduleError, Refused) as error:
            raise exceptions.CommandError(str(error)) from None
        except NoSuchServer as error:
            # As for a mistyped name: novaclient's CommandError.
            raise exceptions.CommandError(error.message) from None
        except NoSchedule as error:
            # The guide's (and 0.3.1's) line: "ERROR (NotFound): ...".
            raise exceptions.NotFound(404, error.message) from None

    return run


def _on_server(cs: Any, server: str, action: Callable[[Any], T]) -> T:
    return actions.on_server(cs, server, action, _schedules(cs).retry_policy)


_DAY_HELP = (
    "Day of the week (UTC) on which to take a weekly image: one of "
    f"{domain.DAYS_HELP}, in any case, or their first three letters. "
    "Without it the schedule is daily, even if it was weekly before."
)
_DRY_HELP = (
    "Only print what the change would make the service delete at its "
    "next run; change nothing."
)


def _dry_run_note(server: str, wanted: domain.Schedule) -> str:
    shown = ", ".join(domain.format_schedule(wanted).splitlines())
    return f"Dry run: {server} would get {shown}; nothing changed."


_RETENTION_HELP = (
    "How many scheduled images of this server to keep: a positive "
    "integer. After each new scheduled image the service deletes the "
    "oldest ones beyond this number."
)


@terminal.escaping_stdio
@utils.arg(
    "--day-of-week",
    metavar="<day>",
    default=None,
    help=_DAY_HELP,
)
@utils.arg("--dry-run", action="store_true", default=False, help=_DRY_HELP)
@utils.arg("server", metavar="<server>", help="Name or ID of server.")
@utils.arg("retention", metavar="<retention>", help=_RETENTION_HELP)
@_error_boundary
def do_scheduled_images_enable(cs: Any, args: argparse.Namespace) -> None:
    """Enable daily or weekly scheduled images on a server.

    Run it again to change the retention or the day: the whole schedule
    is replaced. Lowering the retention first prints (on stderr) which
    images the next scheduled image will make the service delete.
    """
    wanted = domain.new_schedule(args.retention, args.day_of_week)
    manager = _schedules(cs)
    _on_server(
        cs,
        args.server,
        lambda server: actions.set_schedule(
            manager, lambda: _images(cs), server, args.server, wanted,
            dry_run=args.dry_run, err=sys.stderr,
        ),
    )  # fmt: skip
    if args.dry_run:
        print(_dry_run_note(args.server, wanted))


@terminal.escaping_stdio
@utils.arg("server", metavar="<server>", help="Name or ID of server.")
@_error_boundary
def do_scheduled_images_disable(cs: Any, args: argparse.Namespace) -> None:
    """Disable scheduled images on a server.

    Scheduled images already taken are kept.
    """
    manager = _schedules(cs)
    _on_server(cs, args.server, manager.disable)


@terminal.escaping_stdio
@utils.arg("server", metavar="<server>", help="Name or ID of server.")
@_error_boundary
def do_scheduled_images_show(cs: Any, args: argparse.Namespace) -> None:
    """Show the image schedule (type and retention) of a server."""
    manager = _schedules(cs)
    found = _on_server(cs, args.server, manager.get)
    print(domain.format_schedule(found.to_schedule()))


# --- the images themselves, and every schedule at once -------------------


def _images(cs: Any) -> images_api.ImageManager:
    from rax_scheduled_images_python_novaclient_ext import images as api

    return api.ImageManager(cs)


def _print_rows(
    columns: Sequence[str], rows: Sequence[Sequence[str | int | None]]
) -> None:
    """A novaclient table of rows, in the given order: None is blank, and
    each cell is as the terminal will print it (so the columns line up)."""
    encoding = getattr(sys.stdout, "encoding", None)
    formatters = {
        column: lambda row, i=index: terminal.printable(row[i], encoding)
        for index, column in enumerate(columns)
    }
    shown = [["" if cell is None else cell for cell in row] for row in rows]
    utils.print_list(shown, list(columns), formatters=formatters)


@terminal.escaping_stdio
@utils.arg("server", metavar="<server>", help="Name or ID of server.")
@_error_boundary
def do_scheduled_images_image_list(cs: Any, args: argparse.Namespace) -> None:
    """List a server's images, oldest first, and what the service will do.

    Counted: yes when the service counts the image against the retention
    (it carries the org.openstack__1__created_by marker). Deleted at next
    run: yes when the service deletes it after its next scheduled image.
    """
    manager = _schedules(cs)
    server_id, retention = _on_server(
        cs,
        args.server,
        lambda server: actions.id_and_retention(manager, server),
    )
    if retention is None:
        print(actions.no_schedule_note(server_id), file=sys.stderr)
    listed = _images(cs).list_for_server(server_id)
    rows = domain.image_rows(listed, server_id, retention)
    _print_rows(domain.IMAGE_COLUMNS, [row.cells() for row in rows])


def _change_each(
    found: list[dict[str, Any]],
    change: Callable[[dict[str, Any]], bool],
    line: Callable[[str, bool], str],
) -> None:
    """Change each image in turn, one line each, as :mod:`.bulk` does.

    A single image's error is the command's own; with several, each
    failure has its line and the command ends with how many failed.
    After Ctrl-C, exit 130 with :mod:`.bulk`'s line, not novaclient's
    "terminating" one, which would say nothing of what was done.
    """
    try:
        failures = bulk.change_each(
            found,
            change,
            lambda image, changed: line(actions.image_label(image), changed),
            actions.image_label,
            1,
            sys.stdout,
            sys.stderr,
        )
    except bulk.Interrupted:
        raise SystemExit(bulk.INTERRUPTED_EXIT) from None
    if len(found) == 1 and failures:
        raise failures[0][1]
    if failures:
        raise exceptions.CommandError(
            bulk.failed_line(len(failures), len(found), "image")
        )


# The argument of image-keep and image-release.
_IMAGES_ARG = utils.arg(
    "image",
    metavar="<image>",
    nargs="+",
    help="Name or ID of an image (several may be given).",
)


@terminal.escaping_stdio
@_IMAGES_ARG
@_error_boundary
def do_scheduled_images_image_keep(cs: Any, args: argparse.Namespace) -> None:
    """Keep images: the service will never count or delete them.

    Removes only the org.openstack__1__created_by marker; images without
    it are already kept and left alone.
    """
    manager = _images(cs)
    _change_each(
        actions.find_images(manager, args.image),
        manager.keep,
        lambda label, changed: (
            f"Kept image {label}: the service will no longer "
            "count or delete it."
            if changed
            else f"Image {label} is already kept: nothing to do."
        ),
    )


@terminal.escaping_stdio
@_IMAGES_ARG
@_error_boundary
def do_scheduled_images_image_release(
    cs: Any, args: argparse.Namespace
) -> None:
    """Release kept images: the service counts them again.

    First prints which images the service will then delete at its next
    run. Refuses images that belong to no server.
    """
    images = _images(cs)
    found = actions.find_images(images, args.image)
    for line in actions.release_forecasts(images, _schedules(cs), found):
        print(line)
    _change_each(
        found,
        images.release,
        lambda label, changed: (
            f"Released image {label}: the service counts it again."
            if changed
            else f"Image {label} is already counted: nothing to do."
        ),
    )


@terminal.escaping_stdio
@utils.arg(
    "--all-servers",
    action="store_true",
    default=False,
    help="List servers without an image schedule too (blank type, day "
    "and retention).",
)
@utils.arg(
    "--long",
    action="store_true",
    default=False,
    help="Also show how each schedule is kept: the newest image (UTC) "
    "and its age, the counted, failed and kept images, their size and a "
    "state (ok, late, missed, no-images, failed-images).",
)
@_error_boundary
def do_scheduled_images_list(cs: Any, args: argparse.Namespace) -> None:
    """List the servers that have an image schedule.

    Type: Daily or Weekly. Day: the UTC day of a weekly image. Retention:
    how many scheduled images the service keeps.
    """
    rows = _schedules(cs).list_schedules(all_servers=args.all_servers)
    if rows.used_fallback:
        print(actions.FALLBACK_NOTE, file=sys.stderr)
    if args.long:
        _print_long(cs, rows)
        return
    _print_rows(domain.SCHEDULE_COLUMNS, [row.cells() for row in rows])


# --- is it working? ------------------------------------------------------


def _print_long(cs: Any, rows: Sequence[domain.ServerSchedule]) -> None:
    """``scheduled-images-list --long``: the schedules and their health."""
    now = clock.now()
    read = fleet.read_health(_images(cs), rows, now, health.Thresholds())
    _print_rows(health.LONG_COLUMNS, [health.long_cells(r) for r in read.rows])


def _threshold_options(func: Callable[..., T]) -> Callable[..., T]:
    for flags, kwargs in reversed(fleet.threshold_options()):
        func = utils.arg(*flags, **kwargs)(func)
    return func


@terminal.escaping_stdio
@utils.arg(
    "--server",
    metavar="<server>",
    action="append",
    default=[],
    help="Check only this server (name or ID); repeat for more. Default: "
    "every server that has an image schedule.",
)
@_threshold_options
def do_scheduled_images_check(cs: Any, args: argparse.Namespace) -> None:
    """Check that the scheduled images are being taken (a Nagios plugin).

    First line: SCHEDULED IMAGES OK|WARNING|CRITICAL|UNKNOWN - summary |
    performance data; then one line per server that is not ok. Exit 0
    ok; 1 warning (late, no-images, failed-images); 2 critical (missed);
    3 unknown (the cloud could not be read).
    """
    try:
        thresholds = fleet.thresholds_from(args)
    except domain.ScheduleError as error:
        print(f"error: {error}", file=sys.stderr)
        sys.exit(2)
    lines, code = fleet.check_fleet(
        lambda: cs,
        lambda: _schedules(cs),
        lambda: _images(cs),
        args.server,
        thresholds,
    )
    print("\n".join(lines))
    sys.exit(code)


# --- images of deleted servers ---------------------------------------------

_INCLUDE_KEPT_HELP = (
    "Also images of deleted servers without the "
    "org.openstack__1__created_by marker (kept images, manual snapshots)."
)


def _count(value: str) -> int:
    from rax_scheduled_images_python_novaclient_ext import orphans

    return orphans.parse_count(value)


def _concurrency_arg(what: str) -> Callable[[_Command], _Command]:
    return utils.arg(
        "--concurrency",
        metavar="<count>",
        type=bulk.parse_concurrency,
        default=DEFAULT_CONCURRENCY,
        help=f"{what} (default: {DEFAULT_CONCURRENCY}).",
    )


_INCLUDE_KEPT_ARG = utils.arg(
    "--include-kept",
    action="store_true",
    default=False,
    help=_INCLUDE_KEPT_HELP,
)


@terminal.escaping_stdio
@_INCLUDE_KEPT_ARG
@_concurrency_arg("How many servers to check at the same time")
@_error_boundary
def do_scheduled_images_orphan_list(cs: Any, args: argparse.Namespace) -> None:
    """List the scheduled images of deleted servers.

    Nothing prunes them: they stay, billed, until deleted. A server
    counts as deleted only when Nova answers 404 for it, twice; servers
    Nova gives no clear answer for are reported as skipped.
    """
    from rax_scheduled_images_python_novaclient_ext import (
        deleted_servers,
        orphans,
    )

    rows, skipped = deleted_servers.orphan_list(
        cs,
        _images(cs),
        include_kept=args.include_kept,
        concurrency=args.concurrency,
    )
    for line in skipped:
        print(line, file=sys.stderr)
    _print_rows(orphans.ORPHAN_TITLES, [row.cells() for row in rows])
    print(orphans.total_line(rows))


@terminal.escaping_stdio
@utils.arg("--yes", action="store_true", default=False, help="Delete.")
@utils.arg(
    "--keep",
    metavar="<count>",
    type=_count,
    default=1,
    help="Keep the newest <count> active images of each deleted server "
    "(default: 1; 0 deletes them all).",
)
@utils.arg(
    "--older-than",
    metavar="<days>",
    type=_count,
    default=None,
    help="Delete only images created more than <days> days ago.",
)
@_INCLUDE_KEPT_ARG
@_concurrency_arg("How many servers to check, and images to delete, at once")
@_error_boundary
def do_scheduled_images_orphan_purge(
    cs: Any, args: argparse.Namespace
) -> None:
    """Delete the scheduled images of deleted servers.

    Without --yes, only shows what it would delete (a dry run). Keeps
    the newest image of each deleted server unless --keep 0. Never
    touches images of servers that exist or that Nova gives no clear
    answer for, nor images of other projects.
    """
    from rax_scheduled_images_python_novaclient_ext import deleted_servers

    try:
        failed, planned = deleted_servers.purge(
            cs,
            _images(cs),
            keep=args.keep,
            older_than_days=args.older_than,
            include_kept=args.include_kept,
            yes=args.yes,
            now=clock.now(),
            concurrency=args.concurrency,
            out=sys.stdout,
            err=sys.stderr,
        )
    except bulk.Interrupted:
        # Its line is out; novaclient's "terminating" one would add
        # nothing true about what was deleted.
        raise SystemExit(bulk.INTERRUPTED_EXIT) from None
    if failed:
        raise exceptions.CommandError(
            f"{failed} of {planned} images could not be deleted."
        )
