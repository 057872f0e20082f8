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
"""``openstack server image schedule plan|apply|export``: schedules as
code. The words and exit codes only; the plan is :mod:`..policy_plan`'s,
the reads and changes :mod:`..policy_actions`'.

Exit codes: ``plan`` 0, or with ``--detailed-exitcode`` 0 no changes, 2
changes; ``apply`` 0 all changes made (or none to make), 1 a row failed
or was skipped, 2 refused (no terminal to ask on and no ``--yes``);
every command 1 for an error (a bad file, a failed read), 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from cliff import columns as cliff_columns
from osc_lib import exceptions
from osc_lib.command import command

from rax_scheduled_images_python_novaclient_ext import policy as policies
from rax_scheduled_images_python_novaclient_ext import policy_actions as run
from rax_scheduled_images_python_novaclient_ext import policy_plan as plans
from rax_scheduled_images_python_novaclient_ext.catalog import catalog_region
from rax_scheduled_images_python_novaclient_ext.osc import columns, common
from rax_scheduled_images_python_novaclient_ext.osc import (
    regions as osc_regions,
)

CHANGES_EXIT = 2  # --detailed-exitcode: the plan has changes
REFUSED_EXIT = 2  # apply: no --yes, and no terminal to ask on
REFUSED = (
    "Not applied: standard input is not a terminal to ask on; give --yes "
    "to apply the plan above without asking."
)


class DoomedImages(cliff_columns.FormattableColumn[Any]):
    """The images a row costs: one per line in a table, objects in JSON."""

    def human_readable(self) -> str:
        return "\n".join(
            f"{image.id} {image.name}".rstrip() for image in self._value
        )

    def machine_readable(self) -> Any:
        return [
            {"id": i.id, "name": i.name, "created_at": i.created_at}
            for i in self._value
        ]


# Flat formats: one field per key, so the images are their ids (cliff
# would print a FormattableColumn's JSON value as a Python list there).
FLAT_FORMATS = ("value", "csv", "shell")


def doomed_cell(
    doomed: tuple[plans.DoomedImage, ...], parsed_args: argparse.Namespace
) -> Any:
    """The ``doomed_images`` cell: objects in JSON and YAML, a line each
    in a table, the ids separated by spaces in the flat formats."""
    if getattr(parsed_args, "formatter", "table") in FLAT_FORMATS:
        return " ".join(image.id for image in doomed)
    return DoomedImages(doomed)


def plan_rows(
    plan: plans.Plan, parsed_args: argparse.Namespace
) -> list[tuple[Any, ...]]:
    """The changes, then the servers no rule covers (``unmanaged``)."""
    rows = [
        (
            row.region, row.server_id, row.server_name, row.action,
            plans.describe(row.current), plans.describe(row.wanted),
            doomed_cell(row.doomed, parsed_args),
        )
        for row in plan.rows
    ]  # fmt: skip
    rows += [
        (
            server.region, server.server_id, server.name, plans.UNMANAGED,
            plans.describe(server.schedule), None,
            doomed_cell((), parsed_args),
        )
        for server in plan.unmanaged
    ]  # fmt: skip
    return [columns.shown(row, parsed_args) for row in rows]


def read_policy(path: str) -> policies.Policy:
    """The policy file at ``path``, validated.

    :raises osc_lib.exceptions.CommandError: ``FILE:LINE:COLUMN: ...``,
        or the file cannot be read.
    """
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise exceptions.CommandError(f"{path}: {reason}") from None
    try:
        return policies.parse(text, path)
    except policies.PolicyError as error:
        raise exceptions.CommandError(str(error)) from None


def region_clients(
    app: Any, parsed_args: argparse.Namespace
) -> list[run.RegionClients]:
    """The regions asked for (``--all-regions``, ``--region``), else the
    one the session reaches, named as its catalog names it.

    :raises regions.RegionError: for a region the catalog does not list.
    """
    if osc_regions.asked(parsed_args):
        return [
            run.RegionClients(found.region, found.schedules, _given(found))
            for found in osc_regions.clients(app, parsed_args)
        ]
    schedules = common.schedules(app)
    region = catalog_region(common.compute(app).client)
    return [run.RegionClients(region, schedules, lambda: common.images(app))]


def _given(found: Any) -> Callable[[], Any]:
    """The region's image manager, already made."""
    return lambda: found.images


def make_plan(
    app: Any, parsed_args: argparse.Namespace
) -> tuple[plans.Plan, run.Fleet]:
    """Read the file (before any request), then the fleet; warn on
    stderr of rules that match no server, and of regions not read."""
    policy = read_policy(parsed_args.policy_file)
    plan, fleet = run.make_plan(
        policy, region_clients(app, parsed_args), parsed_args.concurrency
    )
    for line in plans.unused_rule_warnings(plan, policy.path):
        app.stderr.write(line + "\n")
    for line in fleet.unread:
        app.stderr.write(line + "\n")
    return plan, fleet


def _add_file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "policy_file",
        metavar="<file>",
        help="The policy file (YAML): rules matching servers to schedules",
    )
    common.add_concurrency_option(
        parser,
        "How many servers to read (or change) at the same time",
    )
    osc_regions.add_options(parser)


class PlanSchedules(common.EscapingOutput, command.Lister):
    """Show what applying a policy file would change.

    One row per server whose schedule would change (create, change,
    delete), with the images a lower retention makes the next run
    delete, then the servers no rule covers (unmanaged).
    """

    changes = unread = False

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_file_argument(parser)
        parser.add_argument(
            "--detailed-exitcode",
            action="store_true",
            default=False,
            help="Exit 0 when there are no changes, 2 when there are "
            "(1 on error), as Terraform's plan does",
        )
        return parser

    def run(self, parsed_args: argparse.Namespace) -> int:
        self.changes = self.unread = False
        result = super().run(parsed_args)
        if result == 0 and self.unread:
            return 1  # a region not read: the plan is not the whole fleet
        if result == 0 and parsed_args.detailed_exitcode and self.changes:
            return CHANGES_EXIT
        return result

    @common.error_boundary
    def take_action(
        self, parsed_args: argparse.Namespace
    ) -> tuple[tuple[str, ...], list[tuple[Any, ...]]]:
        plan, fleet = make_plan(self.app, parsed_args)
        self.changes = plan.has_changes
        self.unread = bool(fleet.unread)
        self.app.stderr.write(plans.summary(plan) + "\n")
        return plans.COLUMNS, plan_rows(plan, parsed_args)


def plan_text(plan: plans.Plan) -> str:
    """The plan as ``apply`` prints it before asking: one line per
    change, the doomed images under their server."""
    lines = []
    for row in plan.rows:
        before = plans.describe(row.current) or "no schedule"
        after = plans.describe(row.wanted) or "no schedule"
        lines.append(f"{row.action} {row.label}: {before} -> {after}")
        lines += [
            f"    deletes at the next run: {image.id} {image.name}".rstrip()
            for image in row.doomed
        ]
    lines.append(plans.summary(plan))
    return "".join(line + "\n" for line in lines)


class ApplySchedules(common.EscapingOutput, command.Command):
    """Apply a policy file: print the plan, ask, then make its changes.

    Only the changes printed are made. Just before each, that server's
    schedule is read again: one changed since the plan is skipped and
    reported, never overwritten. Exit 1 when any change failed or was
    skipped; 2 when not applied for want of --yes (standard input not a
    terminal).
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _add_file_argument(parser)
        parser.add_argument(
            "--yes",
            action="store_true",
            default=False,
            help="Apply without asking (needed when standard input is not "
            "a terminal)",
        )
        return parser

    @common.error_boundary
    def take_action(self, parsed_args: argparse.Namespace) -> int:
        plan, fleet = make_plan(self.app, parsed_args)
        self.app.stdout.write(plan_text(plan))
        self.app.stdout.flush()
        if fleet.unread:
            raise exceptions.CommandError(
                "Not applied: a region could not be read (above); nothing "
                "changed."
            )
        if not plan.has_changes:
            return 0
        if not parsed_args.yes:
            refused = self._ask()
            if refused is not None:
                return refused
        outcome = run.apply(
            plan,
            region_clients(self.app, parsed_args),
            parsed_args.concurrency,
            self.app.stdout,
            self.app.stderr,
        )
        if not outcome.all_done:
            raise exceptions.CommandError(outcome.line())
        return 0

    def _ask(self) -> int | None:
        """None when the user typed yes; else the exit code."""
        stdin = self.app.stdin
        if not (hasattr(stdin, "isatty") and stdin.isatty()):
            self.app.stderr.write(REFUSED + "\n")
            return REFUSED_EXIT
        self.app.stdout.write("Apply these changes? Only 'yes' applies them: ")
        self.app.stdout.flush()
        if stdin.readline().strip() != "yes":
            self.app.stderr.write("Not applied: nothing changed.\n")
            return 1
        return None


class ExportSchedules(common.EscapingOutput, command.Command):
    """Print the current schedules as a policy file.

    One rule per server that has a schedule, matching its exact name
    (glob characters escaped as [*], [?], [[]; a name several servers
    share is matched by id too), and default: unmanaged. Planning the
    file shows no changes.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        common.add_concurrency_option(
            parser,
            "How many schedule requests to run at the same time when the "
            "cloud's server list does not show schedules",
        )
        osc_regions.add_options(parser)
        return parser

    @common.error_boundary
    def take_action(self, parsed_args: argparse.Namespace) -> int:
        text, fleet = run.export(
            region_clients(self.app, parsed_args),
            parsed_args.concurrency,
            with_region=osc_regions.asked(parsed_args),
        )
        self.app.stdout.write(text)
        for line in fleet.unread:
            self.app.stderr.write(line + "\n")
        return 1 if fleet.unread else 0
