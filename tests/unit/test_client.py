"""client_for: a novaclient client with this extension, and only it."""

from __future__ import annotations

from keystoneauth1 import session as ks_session
from keystoneauth1 import token_endpoint
from novaclient import client as nova_client

from rax_scheduled_images_python_novaclient_ext import manager as m
from rax_scheduled_images_python_novaclient_ext.client import client_for

from .conftest import COMPUTE, SERVER_ID, TOKEN, sent


def test_client_for_loads_the_extension_and_only_it(mock, monkeypatch):
    monkeypatch.delenv(m.ALIAS_ENV, raising=False)
    sess = ks_session.Session(auth=token_endpoint.Token(COMPUTE, TOKEN))
    plain = nova_client.Client("2", session=sess)
    assert not hasattr(plain, "rax_scheduled_images_python_novaclient_ext")

    def every_extension(*args, **kwargs):
        raise AssertionError("a broken extension would break client_for")

    monkeypatch.setattr(nova_client, "discover_extensions", every_extension)
    nova = client_for(sess, region_name="DFW")
    schedules = nova.rax_scheduled_images_python_novaclient_ext
    assert isinstance(schedules, m.ScheduleManager)
    assert nova.client.region_name == "DFW"
    url = f"{COMPUTE}/servers/{SERVER_ID}/os-si-image-schedule"
    mock.get(url, json={"image_schedule": {"retention": 7}})
    assert schedules.get(SERVER_ID).retention == 7
    assert sent(mock) == [
        ("GET", f"/v2/p1/servers/{SERVER_ID}/os-si-image-schedule")
    ]
