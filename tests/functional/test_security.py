"""Secrets stay out of output; hostile names stay in their URL segment.

The installed ``nova`` and ``openstack`` commands run against the sandbox
with a user whose password and API key are distinctive strings, so that
finding them (or a token the sandbox minted) anywhere in ``--debug``
output or an error message is proof of a leak, not a coincidence.
"""

from __future__ import annotations

import re
from urllib import parse

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox.model import (
    MYSERVER_ID,
)
from rax_scheduled_images_python_novaclient_ext.sandbox.server import Sandbox

from .conftest import SCHEDULE_SET, clean_env, run_command

pytestmark = pytest.mark.functional

PASSWORD = "pw-Zq8vK3nLx7Tt"
API_KEY = "key-Hh4Rm9cWp2Ye"
DB_ID = "3b5f2a1c-8d7e-4c6b-9a0f-1e2d3c4b5a69"


@pytest.fixture
def cloud():
    with Sandbox() as sandbox:
        with sandbox.lock:
            demo = sandbox.state.user_by_name("demo")
            demo.password = PASSWORD
            demo.api_key = API_KEY
        yield sandbox


def _env(cloud, tmp_path, keystone="v3"):
    env = cloud.env(user="demo", keystone=keystone)
    if "OS_PASSWORD" in env:
        env["OS_PASSWORD"] = PASSWORD
    if "OS_API_KEY" in env:
        env["OS_API_KEY"] = API_KEY
    return clean_env(
        **env,
        NOVACLIENT_UUID_CACHE_DIR=str(tmp_path / "cache"),
        HOME=str(tmp_path),
        OS_CLIENT_CONFIG_FILE=str(tmp_path / "none.yaml"),
    )


DEBUG_COMMANDS = [
    ["nova", "--debug", "scheduled-images-enable", MYSERVER_ID, "3"],
    ["nova", "--debug", "scheduled-images-show", "myserver"],
    ["nova", "--debug", "scheduled-images-image-list", "db"],
    ["nova", "--debug", "scheduled-images-list"],
    ["nova", "--debug", "scheduled-images-image-keep", "db-before-upgrade"],
    ["nova", "--debug", "scheduled-images-show", "nosuch"],  # an error
    ["openstack", "--debug", "server", "image", "schedule", "show", DB_ID],
    ["openstack", "--debug", "scheduled", "image", "list", "--server", "db"],
    ["openstack", "--debug", "scheduled", "image", "release", "nosuch"],
]


@pytest.mark.parametrize("keystone", ["v3", "rax"])
def test_debug_output_and_errors_carry_no_secret(cloud, tmp_path, keystone):
    env = _env(cloud, tmp_path, keystone)
    outputs = []
    for argv in DEBUG_COMMANDS:
        if keystone == "rax" and argv[0] == "openstack":
            continue  # rackspaceauth is a nova auth plugin here
        result = run_command(argv, env)
        outputs.append((argv, result.out + result.err))
    with cloud.lock:
        tokens = list(cloud.state.tokens)
    assert tokens, "no token was minted: the test proves nothing"
    for argv, text in outputs:
        # The requests were logged, with the token redacted.
        assert "X-Auth-Token: {SHA256}" in text, argv
        for secret in (PASSWORD, API_KEY, *tokens):
            assert secret not in text, (argv, secret)
    # The image service's requests were among those redacted.
    image_lines = [
        line
        for _, text in outputs
        for line in text.splitlines()
        if "/image/v2/images" in line and "X-Auth-Token" in line
    ]
    assert image_lines
    assert all("{SHA256}" in line for line in image_lines)


def test_plain_errors_carry_no_secret(cloud, tmp_path):
    env = _env(cloud, tmp_path)
    bad_password = dict(env, OS_PASSWORD=PASSWORD + "-wrong")
    results = [
        run_command(
            ["nova", "scheduled-images-show", MYSERVER_ID], bad_password
        ),
        run_command(
            ["openstack", "server", "image", "schedule", "show", MYSERVER_ID],
            bad_password,
        ),
        run_command(["nova", "scheduled-images-enable", "nosuch", "3"], env),
    ]
    with cloud.lock:
        tokens = list(cloud.state.tokens)
    for result in results:
        assert result.code != 0, result
        text = result.out + result.err
        for secret in (PASSWORD, API_KEY, *tokens):
            assert secret not in text, (result, secret)


HOSTILE = ["../../identity", "a/b", "x?y=1", "#frag", "%2e%2e", "..%2f..%2f"]
PROJECT = "/compute/v2/100001"
SEGMENT = r"[^/]+"
ALLOWED_PATHS = [
    re.compile(rf"{PROJECT}\Z"),
    re.compile(rf"{PROJECT}/servers(/detail)?\Z"),
    re.compile(rf"{PROJECT}/servers/{SEGMENT}\Z"),
    re.compile(rf"{PROJECT}/servers/{SEGMENT}/os-si-image-schedule\Z"),
    re.compile(r"/image/v2/images\Z"),
    re.compile(rf"/image/v2/images/{SEGMENT}\Z"),
]


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_stay_in_one_segment_or_query_value(
    cloud, tmp_path, name
):
    env = _env(cloud, tmp_path)
    commands = [
        ["nova", "scheduled-images-show", name],
        ["nova", "scheduled-images-image-keep", name],
        [
            "openstack",
            *SCHEDULE_SET,
            "--retention",
            "2",
            name,
        ],
        ["openstack", "scheduled", "image", "release", name],
    ]
    for argv in commands:
        cloud.clear_requests()
        result = run_command(argv, env)
        assert result.code == 1, result
        assert "Traceback" not in result.err
        log = cloud.requests
        carried = [
            e
            for e in log
            if name in [parse.unquote(s) for s in e["path"].split("/")]
            or [name] == parse.parse_qs(e["query"]).get("name")
        ]
        assert carried, (argv, log)  # the name was sent: the test bites
        for entry in log:
            path = entry["path"]
            if path.startswith("/identity"):
                assert (entry["method"], path) in {
                    ("GET", "/identity/v3"),
                    ("POST", "/identity/v3/auth/tokens"),
                }, (argv, entry)
                continue
            assert entry["method"] == "GET", (argv, entry)
            assert any(p.match(path) for p in ALLOWED_PATHS), (argv, entry)
            segments = path.split("/")
            decoded = [parse.unquote(s) for s in segments]
            if name in decoded:
                # The name is one whole segment, and never a dot segment.
                assert decoded.count(name) == 1
            query = parse.parse_qs(entry["query"], keep_blank_values=True)
            if "name" in query:
                # A name lookup carries the name, whole, as the value.
                assert query["name"] in ([name], [name.lstrip("#")]), (
                    argv,
                    entry,
                )
            assert set(query) <= {"name", "instance_uuid", "marker", "limit"}
