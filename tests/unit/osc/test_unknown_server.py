"""Every ``openstack`` command given a UUID that names no server.

Nova mocked as the reference extension answers (api.md): GET and DELETE
of an unknown (or another project's) server's schedule answer as for a
server without a schedule; only POST checks the server. Each command
must say novaclient's "No server with a name or ID of '<id>' exists.",
exit 1, and send nothing that changes anything.
"""

from __future__ import annotations

import pytest

from rax_scheduled_images_python_novaclient_ext import manager as m

from ..conftest import (
    STRAY_IMAGE,
    UNKNOWN,
    UNKNOWN_PATH,
    probe,
    register_unknown_server_and_stray_image,
)
from .conftest import api_calls

NAMED_LIKE_IT = ("GET", f"/v2/p1/servers?name={UNKNOWN}")
LINE = f"No server with a name or ID of '{UNKNOWN}' exists."
SCHEDULE = ("server", "image", "schedule")


def served_path(served):
    return f"{UNKNOWN_PATH}/{served}"


CASES = {
    # The name is part of show's answer: novaclient's lookup reads the
    # server first (by id, then by name and by "human id"); no schedule
    # request is sent for a server that is not there.
    "show": (
        [*SCHEDULE, "show", UNKNOWN],
        LINE,
        lambda served: [("GET", UNKNOWN_PATH), NAMED_LIKE_IT, NAMED_LIKE_IT],
    ),
    # The POST that follows checks the server: the 404 is not confirmed.
    "set --retention": (
        [*SCHEDULE, "set", "--retention", "3", UNKNOWN],
        f"{UNKNOWN}: {LINE}",
        lambda served: [
            *probe("GET", served),
            ("POST", served_path(served)),
            NAMED_LIKE_IT,
        ],
    ),
    # No POST follows "no schedule yet": the server is read before that
    # is said.
    "set --day-of-week": (
        [*SCHEDULE, "set", "--day-of-week", "mon", UNKNOWN],
        f"{UNKNOWN}: {LINE}",
        lambda served: [
            *probe("GET", served),
            ("GET", UNKNOWN_PATH),
            NAMED_LIKE_IT,
        ],
    ),
    "set --retention --daily": (
        [*SCHEDULE, "set", "--retention", "3", "--daily", UNKNOWN],
        f"{UNKNOWN}: {LINE}",
        # The current schedule is read (is the retention lowered?),
        # unconfirmed: the POST that follows checks the server.
        lambda served: [
            *probe("GET", served),
            ("POST", served_path(served)),
            NAMED_LIKE_IT,
        ],
    ),
    # DELETE proves nothing on either alias: the server is read first,
    # and no DELETE is sent.
    "unset": (
        [*SCHEDULE, "unset", UNKNOWN],
        f"{UNKNOWN}: {LINE}",
        lambda served: [("GET", UNKNOWN_PATH), NAMED_LIKE_IT],
    ),
    "image list --server": (
        ["scheduled", "image", "list", "--server", UNKNOWN],
        LINE,
        lambda served: [
            *probe("GET", served),
            ("GET", UNKNOWN_PATH),
            NAMED_LIKE_IT,
        ],
    ),
    # The release forecast needs the image's server: nothing is patched.
    "image release": (
        ["scheduled", "image", "release", STRAY_IMAGE],
        LINE,
        lambda served: [
            ("GET", f"/v2/images/{STRAY_IMAGE}"),
            *probe("GET", served),
            ("GET", UNKNOWN_PATH),
        ],
    ),
}


@pytest.mark.parametrize("served", m.ALIASES)
@pytest.mark.parametrize("case", CASES)
def test_unknown_uuid_says_no_such_server_and_changes_nothing(
    openstack, mock, served, case
):
    register_unknown_server_and_stray_image(mock, served)
    argv, line, expected = CASES[case]
    result = openstack(*argv)
    assert (result.code, result.out) == (1, "")
    assert result.error_lines == [line]
    assert api_calls(mock) == expected(served)
