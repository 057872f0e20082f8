"""Bad input to every command of both front ends, and malformed answers.

Each bad input must end with ONE line on stderr (besides nova's
deprecation notice, or argparse's usage line), a non-zero exit, no
traceback, and no request that changes anything reaching the cloud.
Malformed answers from the cloud end the same way, naming what was wrong.

The cloud is a small fake behind requests-mock that answers lookups by
name the way Nova and Glance do (GET /servers?name=X, then
GET /servers/{id}; GET /v2/images?name=X).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib import parse

import pytest
import requests_mock as rm

from .conftest import COMPUTE, GENERIC_404, IMAGE, SERVER_ID
from .osc.conftest import openstack  # noqa: F401  (a fixture)

WEB1 = "11111111-1111-4111-8111-111111111111"
WEB2 = "22222222-2222-4222-8222-222222222222"
IMG1 = "aaaaaaaa-1111-4111-8111-111111111111"
DUP1 = "bbbbbbbb-1111-4111-8111-111111111111"
DUP2 = "cccccccc-1111-4111-8111-111111111111"
MAX_RETENTION = 65535

SERVERS = {
    SERVER_ID: "myserver",
    WEB1: "web",
    WEB2: "web",
}
IMAGES = {
    IMG1: "snap",
    DUP1: "dup",
    DUP2: "dup",
}
MUTATING = ("POST", "PUT", "PATCH", "DELETE")


def _server(server_id: str) -> dict[str, Any]:
    return {
        "id": server_id,
        "name": SERVERS[server_id],
        "status": "ACTIVE",
        "links": [],
        "OS-SI:image_schedule": {"retention": 3},
    }


def _image(image_id: str, marked: bool = True) -> dict[str, Any]:
    image = {
        "id": image_id,
        "name": IMAGES[image_id],
        "status": "active",
        "created_at": "2025-01-01T00:00:00Z",
        "instance_uuid": SERVER_ID,
    }
    if marked:
        image["org.openstack__1__created_by"] = "scheduled_images_service"
    return image


def _compute(request: Any, context: Any) -> Any:
    path = parse.unquote(request.path)
    query = dict(parse.parse_qsl(parse.urlsplit(request.url).query))
    rest = request.path.split("/")[3:]  # after /v2/p1/
    context.headers["Content-Type"] = "application/json"
    if rest == ["servers"] or rest == ["servers", "detail"]:
        name = query.get("name")
        found = [
            _server(sid)
            for sid, sname in SERVERS.items()
            if name is None or sname == name
        ]
        return json.dumps({"servers": found})
    if len(rest) == 2 and rest[0] == "servers":
        sid = parse.unquote(rest[1])
        if sid in SERVERS:
            # Without the schedule attribute (as a cloud that does not
            # show it), so that commands ask the schedule route itself,
            # whose malformed answers are tested below.
            shown = _server(sid)
            del shown["OS-SI:image_schedule"]
            return json.dumps({"server": shown})
    if (
        len(rest) == 3
        and rest[0] == "servers"
        and rest[2].endswith("image-schedule")
    ):
        sid = parse.unquote(rest[1])
        if sid in SERVERS:
            if request.method == "GET":
                return json.dumps({"image_schedule": {"retention": 3}})
            if request.method == "DELETE":
                context.status_code = 202
                return ""
            body = request.json()["image_schedule"]
            if body["retention"] > MAX_RETENTION:
                context.status_code = 400
                value = body["retention"]
                return json.dumps(
                    {
                        "badRequest": {
                            "message": f"The retention value {value} is "
                            f"not allowed. It cannot exceed {MAX_RETENTION}",
                            "code": 400,
                        }
                    }
                )
            return json.dumps({"image_schedule": body})
    del path
    context.status_code = 404
    return json.dumps(GENERIC_404)


def _glance(request: Any, context: Any) -> Any:
    query = dict(parse.parse_qsl(parse.urlsplit(request.url).query))
    rest = request.path.split("/")[1:]
    context.headers["Content-Type"] = "application/json"
    if rest == ["v2", "images"]:
        found = [
            _image(iid)
            for iid, name in IMAGES.items()
            if query.get("name", name) == name
            and query.get("instance_uuid", SERVER_ID) == SERVER_ID
        ]
        return json.dumps({"images": found})
    if len(rest) == 3 and rest[:2] == ["v2", "images"]:
        iid = parse.unquote(rest[2])
        if iid in IMAGES:
            return json.dumps(_image(iid))
    context.status_code = 404
    return json.dumps(
        {"message": "The resource could not be found.", "code": 404}
    )


def fake_cloud(mock: rm.Mocker) -> None:
    mock.register_uri(
        rm.ANY, re.compile(re.escape(COMPUTE) + "/.+"), text=_compute
    )
    mock.register_uri(
        rm.ANY, re.compile(re.escape(IMAGE) + "/.+"), text=_glance
    )


# --- the table ---------------------------------------------------------------

BAD_RETENTIONS = ["0", "-1", "1.5", "", "abc", "\u0663", "true", "yes"]
BAD_DAYS = ["satday", "", "7", "mon day"]
BAD_SERVERS = [
    "nosuch",
    "web",  # two servers have this name
    "",
    " ",
    "a/b",
    "..",
    "x?y=1",
    "#frag",
    "%2e%2e",
    "my server",
    "s\u00e9rveur-\u96fb",
]
BAD_IMAGES = [
    "nosuch",
    "dup",  # two images have this name
    "",
    "a/b",
    "..",
    "x?y=1",
    "#frag",
    "%2e%2e",
    "my image",
    "\u00efmage-\u96fb",
]
TOO_BIG = str(10**30)

# ``openstack server image schedule set``, the command most cases use.
OSC_SET = ("server", "image", "schedule", "set")
NOVA_ENABLE = "scheduled-images-enable"

CASES: list[tuple[str, tuple[str, ...]]] = []
for _r in [*BAD_RETENTIONS, TOO_BIG]:
    CASES.append(("nova", (NOVA_ENABLE, SERVER_ID, _r)))
    CASES.append(("openstack", (*OSC_SET, "--retention", _r, SERVER_ID)))
for _d in BAD_DAYS:
    CASES.append(("nova", (NOVA_ENABLE, "--day-of-week", _d, SERVER_ID, "3")))
    CASES.append(("openstack", (*OSC_SET, "--day-of-week", _d, SERVER_ID)))
CASES.append(
    ("openstack", (*OSC_SET, "--daily", "--day-of-week", "monday", SERVER_ID))
)
CASES.append(("openstack", (*OSC_SET, SERVER_ID)))
for _s in BAD_SERVERS:
    CASES += [
        ("nova", ("scheduled-images-enable", _s, "3")),
        ("nova", ("scheduled-images-disable", _s)),
        ("nova", ("scheduled-images-show", _s)),
        ("nova", ("scheduled-images-image-list", _s)),
        ("openstack", ("server", "image", "schedule", "show", _s)),
        ("openstack", (*OSC_SET, "--retention", "3", _s)),
        ("openstack", ("server", "image", "schedule", "unset", _s)),
        ("openstack", ("scheduled", "image", "list", "--server", _s)),
    ]
for _i in BAD_IMAGES:
    CASES += [
        ("nova", ("scheduled-images-image-keep", _i)),
        ("nova", ("scheduled-images-image-release", _i)),
        ("openstack", ("scheduled", "image", "keep", _i)),
        ("openstack", ("scheduled", "image", "release", _i)),
    ]
CASES += [
    ("nova", ("scheduled-images-list", "--all-servers=maybe")),
    ("openstack", ("server", "image", "schedule", "list", "--bogus")),
    ("openstack", ("scheduled", "image", "list", "--concurrency", "0")),
]


def _user_lines(front: str, err: str) -> list[str]:
    """stderr less nova's deprecation notice, plugin noise, usage lines."""
    lines = []
    for line in err.splitlines():
        if not line.strip() or "nova CLI is deprecated" in line:
            continue
        if line.startswith(("Could not load ", "usage:", " ")):
            continue  # argparse's usage (and its continuation lines)
        if line.startswith("Try 'nova help"):
            continue  # nova's pointer after a usage error
        lines.append(line)
    return lines


@pytest.mark.parametrize(
    ("front", "argv"),
    CASES,
    ids=[f"{f}-{'_'.join(a)[:60]!r}" for f, a in CASES],
)
def test_bad_input_is_one_line_and_changes_nothing(
    front: str,
    argv: tuple[str, ...],
    request: pytest.FixtureRequest,
    mock: rm.Mocker,
) -> None:
    run = request.getfixturevalue(front)
    fake_cloud(mock)
    result = run(*argv)
    assert result.code != 0, (result.code, result.out, result.err)
    assert "Traceback" not in result.err + result.out
    lines = _user_lines(front, result.err)
    assert len(lines) == 1, result.err
    # The error is the command's, not the fake cloud missing a route.
    assert "mock" not in lines[0].lower(), lines[0]
    changes = [
        (r.method, r.path, r.status_code if hasattr(r, "status_code") else 0)
        for r in mock.request_history
        if r.method in MUTATING and r.hostname != "identity.test"
    ]
    if TOO_BIG in argv:
        # The cloud's own 400: the refused POST is the only change tried.
        assert [c[0] for c in changes] == ["POST"]
        assert "65535" in lines[0]
    else:
        assert changes == []


# --- malformed answers -------------------------------------------------------

HTML = "<html><body><h1>502 Bad Gateway</h1></body></html>"
SCHED = re.compile(re.escape(COMPUTE) + r"/servers/[^/]+/os-si-image-schedule")
DETAIL = re.compile(re.escape(COMPUTE) + r"/servers/detail.*")
IMAGE_LIST = re.compile(re.escape(IMAGE) + r"/v2/images\?.*")

# (what is malformed, the route answering it, the body, words the one
# error line must contain: any one of them)
MALFORMED_ANSWERS: list[tuple[str, re.Pattern[str], str, tuple[str, ...]]] = [
    ("html", SCHED, HTML, ("image_schedule", "JSON", "json")),
    ("empty", SCHED, "", ("image_schedule",)),
    ("no image_schedule", SCHED, '{"schedule": {}}', ("image_schedule",)),
    ("wrong type", SCHED, '{"image_schedule": []}', ("image_schedule",)),
    (
        "string retention",
        SCHED,
        '{"image_schedule": {"retention": "3"}}',
        ("retention",),
    ),
    (
        "bad day",
        SCHED,
        '{"image_schedule": {"retention": 3, "day_of_week": 7}}',
        ("day_of_week",),
    ),
    ("list", SCHED, "[1, 2]", ("image_schedule",)),
]
LIST_ANSWERS = [
    ("html", DETAIL, HTML, ("JSON", "json", "server")),
    ("servers not a list", DETAIL, '{"servers": "x"}', ("servers",)),
    ("a list", DETAIL, "[]", ("servers", "server list")),
]
IMAGE_ANSWERS = [
    ("html", IMAGE_LIST, HTML, ("JSON", "json", "image")),
    ("a list", IMAGE_LIST, "[]", ("images", "image list")),
    ("images not a list", IMAGE_LIST, '{"images": "x"}', ("images",)),
    ("items not objects", IMAGE_LIST, '{"images": [1, 2]}', ("image",)),
]

SID = SERVER_ID
MALFORMED_CASES = (
    [
        (front, argv, *answer)
        for answer in MALFORMED_ANSWERS
        for front, argv in (
            ("nova", ("scheduled-images-show", SID)),
            ("nova", ("scheduled-images-enable", SID, "3")),
            ("nova", ("scheduled-images-image-list", SID)),
            ("openstack", ("server", "image", "schedule", "show", SID)),
            (
                "openstack",
                (
                    "server",
                    "image",
                    "schedule",
                    "set",
                    "--retention",
                    "3",
                    SID,
                ),
            ),
            ("openstack", ("scheduled", "image", "list", "--server", SID)),
        )
    ]
    + [
        (front, argv, *answer)
        for answer in LIST_ANSWERS
        for front, argv in (
            ("nova", ("scheduled-images-list",)),
            ("openstack", ("server", "image", "schedule", "list")),
        )
    ]
    + [
        (front, argv, *answer)
        for answer in IMAGE_ANSWERS
        for front, argv in (
            ("nova", ("scheduled-images-image-list", SID)),
            ("openstack", ("scheduled", "image", "list", "--server", SID)),
        )
    ]
)


@pytest.mark.parametrize(
    ("front", "argv", "what", "route", "body", "words"),
    MALFORMED_CASES,
    ids=[
        f"{c[0]}-{c[1][-2] if len(c[1]) > 1 else c[1][0]}-{c[2]}"
        for c in MALFORMED_CASES
    ],
)
def test_malformed_answer_is_one_line_naming_it(
    front: str,
    argv: tuple[str, ...],
    what: str,
    route: re.Pattern[str],
    body: str,
    words: tuple[str, ...],
    request: pytest.FixtureRequest,
    mock: rm.Mocker,
) -> None:
    run = request.getfixturevalue(front)
    fake_cloud(mock)
    content_type = "text/html" if body.startswith("<") else "application/json"
    mock.register_uri(
        rm.ANY, route, text=body, headers={"Content-Type": content_type}
    )
    result = run(*argv)
    assert result.code == 1, (result.code, result.out, result.err)
    assert "Traceback" not in result.err + result.out
    lines = _user_lines(front, result.err)
    assert len(lines) == 1, result.err
    assert any(word in lines[0] for word in words), lines[0]
