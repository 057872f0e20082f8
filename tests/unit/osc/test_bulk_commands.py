"""``openstack`` bulk changes under Ctrl-C, and terminals that cannot
show a name: the real shell in-process, the cloud mocked.

Ctrl-C is a real SIGINT, raised when the command prints its k-th line
(so at a known point, not after a delay); the terminal is a strict ASCII
stream, as with ``PYTHONIOENCODING=ascii``.
"""

from __future__ import annotations

import io
import re
import signal

import pytest

from ..conftest import COMPUTE, IMAGE, ascii_stream
from .conftest import (
    WEB1,
    WEB2,
    WEB3,
    bodies,
    echo,
    sched_path,
    sched_url,
    server,
)

WEB4 = "44444444-4444-4444-8444-444444444444"
SERVERS = (WEB1, WEB2, WEB3, WEB4)
DAILY_7 = {"image_schedule": {"retention": 7}}
UNICODE_NAME = "café ☕ 🚀"
UNICODE_ID = "55555555-5555-4555-8555-555555555555"
IMG_A = "aaaaaaaa-0000-4000-8000-00000000000a"
IMG_B = "aaaaaaaa-0000-4000-8000-00000000000b"
IMG_C = "aaaaaaaa-0000-4000-8000-00000000000c"


class CtrlCAfter(io.StringIO):
    """stdout that gets a SIGINT once ``lines`` lines are printed."""

    def __init__(self, lines: int) -> None:
        super().__init__()
        self.lines = lines

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.getvalue().count("\n") == self.lines and text.endswith("\n"):
            signal.raise_signal(signal.SIGINT)
        return written


def posted(mock) -> list[str]:
    """The servers whose schedule was POSTed, in order."""
    return [
        req.path.split("/")[4]
        for req in mock.request_history
        if req.method == "POST" and req.hostname != "identity.test"
    ]


def image(id_: str, name: str) -> dict[str, object]:
    return {
        "id": id_,
        "name": name,
        "created_at": "2024-05-01T10:00:00Z",
        "status": "active",
        "instance_uuid": WEB1,
        "org.openstack__1__created_by": "scheduled_images_service",
    }


@pytest.fixture
def servers(mock):
    for id_ in SERVERS:
        # disable reads the server first: the DELETE proves nothing.
        mock.get(f"{COMPUTE}/servers/{id_}", json={"server": server(id_, id_)})
        mock.get(sched_url(id_), json=DAILY_7)
        mock.post(sched_url(id_), json=echo)


def test_ctrl_c_during_set_stops_reports_and_exits_130(
    openstack, mock, servers
):
    result = openstack(
        "server", "image", "schedule", "set", "--retention", "9",
        "--concurrency", "1", *SERVERS,
        stdout=CtrlCAfter(2),
    )  # fmt: skip
    assert result.code == 130
    # Exactly what was changed is reported, and nothing else was sent.
    assert posted(mock) == [WEB1, WEB2]
    assert result.out == (
        f"{WEB1}: Schedule type: Daily, Retention: 9\n"
        f"{WEB2}: Schedule type: Daily, Retention: 9\n"
    )
    assert result.error_lines == [
        f"Interrupted: 2 of 4 done; not started: {WEB3}, {WEB4}"
    ]


def test_ctrl_c_during_unset_stops_reports_and_exits_130(
    openstack, mock, servers
):
    for id_ in SERVERS:
        mock.delete(sched_url(id_), status_code=202)
    result = openstack(
        "server", "image", "schedule", "unset", "--concurrency", "1",
        *SERVERS,
        stdout=CtrlCAfter(1),
    )  # fmt: skip
    assert result.code == 130
    deleted = [r.path for r in mock.request_history if r.method == "DELETE"]
    assert deleted == [sched_path(WEB1)]
    assert result.out == f"{WEB1}: scheduled images disabled\n"
    assert result.error_lines == [
        f"Interrupted: 1 of 4 done; not started: {WEB2}, {WEB3}, {WEB4}"
    ]


def test_ctrl_c_during_keep_stops_reports_and_exits_130(openstack, mock):
    for id_, name in ((IMG_A, "A"), (IMG_B, "B"), (IMG_C, "C")):
        mock.get(f"{IMAGE}/v2/images/{id_}", json=image(id_, name))
        mock.patch(f"{IMAGE}/v2/images/{id_}", json=image(id_, name))
    result = openstack(
        "scheduled", "image", "keep", "--concurrency", "1",
        IMG_A, IMG_B, IMG_C,
        stdout=CtrlCAfter(1),
    )  # fmt: skip
    assert result.code == 130
    patched = [r.path for r in mock.request_history if r.method == "PATCH"]
    assert patched == [f"/v2/images/{IMG_A}"]
    assert result.out == (
        f"{IMG_A} (A): kept: the service will no longer count or delete it\n"
    )
    assert result.error_lines == [
        f"Interrupted: 1 of 3 done; not started: {IMG_B} (B), {IMG_C} (C)"
    ]


def test_set_reports_every_server_on_an_ascii_terminal(openstack, mock):
    """The issue's ``set --retention 6 myserver "café ☕ 🚀" db``."""
    for id_ in (WEB1, UNICODE_ID, WEB3):
        # Retention 5 to 6: raised, so no forecast (and no image list).
        mock.get(sched_url(id_), json={"image_schedule": {"retention": 5}})
        mock.post(sched_url(id_), json=echo)
    mock.get(
        re.compile(re.escape(f"{COMPUTE}/servers?name=")),
        json={"servers": [server(UNICODE_ID, UNICODE_NAME)]},
    )
    out, err = ascii_stream(), ascii_stream()
    result = openstack(
        "server", "image", "schedule", "set", "--retention", "6",
        WEB1, UNICODE_NAME, WEB3, "nosuch☕",
        stdout=out, stderr=err,
    )  # fmt: skip
    assert sorted(bodies(mock)) == sorted(
        sched_path(id_) for id_ in (WEB1, UNICODE_ID, WEB3)
    )
    assert result.out == (
        f"{WEB1}: Schedule type: Daily, Retention: 6\n"
        "caf\\xe9 \\u2615 \\U0001f680: Schedule type: Daily, Retention: 6\n"
        f"{WEB3}: Schedule type: Daily, Retention: 6\n"
    )
    assert result.error_lines == [
        "nosuch\\u2615: No server with a name or ID of 'nosuch\\u2615' "
        "exists.",
        "1 of 4 servers failed.",
    ]
    assert result.code == 1


def test_keep_reports_every_image_on_an_ascii_terminal(openstack, mock):
    for id_, name in ((IMG_A, "A"), (IMG_B, "☕"), (IMG_C, "C")):
        mock.get(f"{IMAGE}/v2/images/{id_}", json=image(id_, name))
        mock.patch(f"{IMAGE}/v2/images/{id_}", json=image(id_, name))
    result = openstack(
        "scheduled", "image", "keep", IMG_A, IMG_B, IMG_C,
        stdout=ascii_stream(), stderr=ascii_stream(),
    )  # fmt: skip
    assert (result.code, result.error_lines) == (0, [])
    assert result.out == (
        f"{IMG_A} (A): kept: the service will no longer count or delete it\n"
        f"{IMG_B} (\\u2615): kept: the service will no longer count or "
        "delete it\n"
        f"{IMG_C} (C): kept: the service will no longer count or delete it\n"
    )


def test_list_table_on_an_ascii_terminal(openstack, mock):
    mock.get(
        re.compile(re.escape(f"{COMPUTE}/servers/detail")),
        json={
            "servers": [
                {
                    **server(UNICODE_ID, UNICODE_NAME),
                    "OS-SI:image_schedule": {"retention": 7},
                }
            ]
        },
    )
    result = openstack(
        "server", "image", "schedule", "list",
        stdout=ascii_stream(), stderr=ascii_stream(),
    )  # fmt: skip
    assert result.code == 0, result.err
    assert "| caf\\xe9 \\u2615 \\U0001f680 |" in result.out
    # The columns line up: sized by the text as printed.
    assert len({len(line) for line in result.out.splitlines()}) == 1
