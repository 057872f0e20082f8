"""The plugin hooks (osc/plugin.py) and how OpenStackClient loads them."""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
from types import SimpleNamespace

import pytest
from cliff import command as cliff_command
from keystoneauth1 import fixture as ks_fixture
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from osc_lib import exceptions

from rax_scheduled_images_python_novaclient_ext import manager as m
from rax_scheduled_images_python_novaclient_ext.osc import plugin

from ..conftest import AUTH_URL, PASSWORD, SERVER_ID, TOKEN

GROUP = "openstack.scheduled_images.v1"


@pytest.fixture
def session(mock):
    """A password session whose catalog has two regions, three interfaces."""
    mock.get(AUTH_URL, json=ks_fixture.V3Discovery(AUTH_URL))
    token = ks_fixture.V3Token(project_id="p1")
    compute = token.add_service("compute")
    for region in ("RegionOne", "RegionTwo"):
        for interface in ("public", "internal", "admin"):
            compute.add_endpoint(
                interface,
                f"http://{interface}.{region.lower()}.test/v2/p1",
                region=region,
            )
    mock.post(
        AUTH_URL + "/auth/tokens",
        json=token,
        headers={"X-Subject-Token": TOKEN},
        status_code=201,
    )
    auth = v3.Password(
        auth_url=AUTH_URL,
        username="demo",
        password=PASSWORD,
        project_id="p1",
        user_domain_id="default",
    )
    return ks_session.Session(auth=auth)


def instance(session, region="RegionOne", interface="public", **config):
    """What make_client reads of OpenStackClient's ClientManager."""
    return SimpleNamespace(
        session=session,
        region_name=region,
        interface=interface,
        _api_version={plugin.API_NAME: "1"},
        _cli_options=SimpleNamespace(config=config),
    )


def test_make_client_uses_osc_session_region_and_interface(session, mock):
    url = (
        f"http://internal.regiontwo.test/v2/p1/servers/{SERVER_ID}"
        "/os-si-image-schedule"
    )
    mock.get(url, json={"image_schedule": {"retention": 3}})
    client = plugin.make_client(instance(session, "RegionTwo", "internal"))
    assert isinstance(client, m.ScheduleManager)
    assert client.api.client.session is session
    assert client.get(SERVER_ID).retention == 3
    assert mock.request_history[-1].url == url
    assert mock.request_history[-1].headers["X-Auth-Token"] == TOKEN


def test_make_client_honours_the_compute_endpoint_override(session, mock):
    url = (
        f"http://override.test/v2/p1/servers/{SERVER_ID}/os-si-image-schedule"
    )
    mock.get(url, json={"image_schedule": {"retention": 3}})
    client = plugin.make_client(
        instance(
            session, compute_endpoint_override="http://override.test/v2/p1"
        )
    )
    client.get(SERVER_ID)
    assert mock.request_history[-1].url == url


def test_make_client_pins_the_alias_of_the_option(session, monkeypatch):
    monkeypatch.delenv(m.ALIAS_ENV, raising=False)
    client = plugin.make_client(
        instance(session, scheduled_images_api_alias=m.RACKSPACE_ALIAS)
    )
    assert client.alias == m.RACKSPACE_ALIAS
    assert client.url(SERVER_ID).endswith("/rax-si-image-schedule")


def test_make_client_defaults_to_the_environments_alias(session, monkeypatch):
    monkeypatch.setenv(m.ALIAS_ENV, m.RACKSPACE_ALIAS)
    assert plugin.make_client(instance(session)).alias == m.RACKSPACE_ALIAS


def test_make_client_refuses_a_bad_alias_in_the_environment(
    session, monkeypatch
):
    monkeypatch.setenv(m.ALIAS_ENV, "os-nope")
    with pytest.raises(exceptions.CommandError) as caught:
        plugin.make_client(instance(session))
    assert str(caught.value) == (
        "Unknown scheduled images API alias 'os-nope': use "
        "os-si-image-schedule or rax-si-image-schedule."
    )


def test_make_client_refuses_an_unknown_api_version(session):
    bad = instance(session)
    bad._api_version = {plugin.API_NAME: "2"}
    with pytest.raises(exceptions.UnsupportedVersion) as caught:
        plugin.make_client(bad)
    assert str(caught.value) == (
        "Scheduled images API version '2' is not supported: use 1."
    )


def test_build_option_parser_adds_version_and_alias(monkeypatch):
    monkeypatch.setenv("OS_SCHEDULED_IMAGES_API_VERSION", "1")
    parser = plugin.build_option_parser(argparse.ArgumentParser())
    parsed = parser.parse_args(
        ["--os-scheduled-images-api-alias", "rax-si-image-schedule"]
    )
    assert parsed.os_scheduled_images_api_version == "1"
    assert parsed.os_scheduled_images_api_alias == "rax-si-image-schedule"
    with pytest.raises(SystemExit):
        parser.parse_args(["--os-scheduled-images-api-alias", "other"])


def test_plugin_constants_fit_openstackclient():
    from openstackclient.common import clientmanager

    names = [mod.API_NAME for mod in clientmanager.PLUGIN_MODULES]
    assert plugin in clientmanager.PLUGIN_MODULES
    # One API of that name: a clash would hide ours (or another's).
    assert names.count(plugin.API_NAME) == 1
    assert plugin.API_VERSION_OPTION == (
        "os_" + plugin.API_NAME + "_api_version"
    )
    assert plugin.DEFAULT_API_VERSION in plugin.API_VERSIONS
    # OpenStackClient's command group for the default version.
    assert f"openstack.{plugin.API_NAME}.v{plugin.DEFAULT_API_VERSION}" == (
        GROUP
    )


def test_every_declared_command_loads():
    entry_points = importlib.metadata.entry_points(group=GROUP)
    loaded = {ep.name: ep.load() for ep in entry_points}
    assert sorted(loaded) == [
        "scheduled_image_keep",
        "scheduled_image_list",
        "scheduled_image_purge",
        "scheduled_image_release",
        "scheduled_image_restore",
        "scheduled_image_restore-test",
        "server_image_schedule_apply",
        "server_image_schedule_check",
        "server_image_schedule_export",
        "server_image_schedule_list",
        "server_image_schedule_plan",
        "server_image_schedule_set",
        "server_image_schedule_show",
        "server_image_schedule_unset",
    ]
    for factory in loaded.values():
        assert issubclass(factory, cliff_command.Command)
        assert factory.__doc__


def test_openstack_help_shows_a_command(openstack, mock):
    result = openstack("help", "server", "image", "schedule", "set")
    assert result.code == 0
    assert result.out.startswith(
        "usage: openstack server image schedule set [-h] [--retention <count>]"
    )
    assert "Could not load" not in result.err


def test_nova_side_imports_nothing_of_openstackclient():
    # python-openstackclient is an optional extra: the nova extension,
    # the managers and the domain must not need it.
    code = (
        "import sys\n"
        "import rax_scheduled_images_python_novaclient_ext.novaclient_ext\n"
        "import rax_scheduled_images_python_novaclient_ext.images\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in "
        "('osc_lib', 'openstackclient', 'cliff') or '.osc' in n)\n"
        "print(bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out == "[]\n"


def test_make_client_takes_retry_settings_from_options(session, monkeypatch):
    monkeypatch.setenv("SCHEDULED_IMAGES_RETRIES", "5")
    made = plugin.make_client(
        instance(session, scheduled_images_retry_max_delay="0.25")
    )
    assert (made.retry_policy.retries, made.retry_policy.max_delay) == (
        5,
        0.25,
    )
    made = plugin.make_client(instance(session, scheduled_images_retries="0"))
    assert made.retry_policy.retries == 0


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("scheduled_images_retries", "-1",
         "--os-scheduled-images-retries cannot be negative (got -1): give "
         "the number of retries, or 0 to turn retries off."),
        ("scheduled_images_retries", "x",
         "--os-scheduled-images-retries must be a whole number of retries, "
         "0 or more (got 'x')."),
        ("scheduled_images_retry_max_delay", "-1.0",
         "--os-scheduled-images-retry-max-delay cannot be negative (got "
         "-1.0): give the longest wait before a retry, in seconds."),
        ("scheduled_images_retry_max_delay", "nan",
         "--os-scheduled-images-retry-max-delay must be a finite number of "
         "seconds (got 'nan')."),
    ],
)  # fmt: skip
def test_make_client_says_what_is_wrong_with_a_retry_option(
    session, option, value, message
):
    with pytest.raises(exceptions.CommandError) as raised:
        plugin.make_client(instance(session, **{option: value}))
    assert str(raised.value) == message


def test_build_option_parser_adds_retry_options():
    parser = plugin.build_option_parser(argparse.ArgumentParser())
    parsed = parser.parse_args(
        [
            "--os-scheduled-images-retries",
            "2",
            "--os-scheduled-images-retry-max-delay",
            "1.5",
        ]
    )
    assert parsed.os_scheduled_images_retries == 2
    assert parsed.os_scheduled_images_retry_max_delay == 1.5


def test_loading_the_plugin_imports_no_novaclient():
    # Every openstack command imports the plugin; only ours need novaclient.
    code = (
        "import sys\n"
        "import rax_scheduled_images_python_novaclient_ext.osc.plugin\n"
        "print(sorted(m for m in sys.modules if m.startswith("
        "('novaclient', 'rax_scheduled_images_python_novaclient_ext.m'))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_openstack_says_what_is_wrong_with_a_retry_option(openstack):
    result = openstack(
        "--os-scheduled-images-retries", "-1",
        "server", "image", "schedule", "show", "myserver",
    )  # fmt: skip
    assert result.code == 1
    assert result.err.splitlines()[-1] == (
        "--os-scheduled-images-retries cannot be negative (got -1): give "
        "the number of retries, or 0 to turn retries off."
    )
