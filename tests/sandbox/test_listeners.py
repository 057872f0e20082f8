"""listeners.py: every ACTIVE server answers TCP on its 127.0.1.N address
and the sandbox's server port; its socket closes when it leaves ACTIVE,
is deleted, or the sandbox stops; sandboxes side by side never share a
port."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from rax_scheduled_images_python_novaclient_ext.sandbox import Sandbox
from rax_scheduled_images_python_novaclient_ext.sandbox.listeners import (
    loopback_address,
)

from .conftest import MYSERVER, WEB_IDS, Client
from .lifecycle_helpers import act, address, admin, create, finish, show


@pytest.fixture
def slow() -> Iterator[Sandbox]:
    with Sandbox(action_delay=3600) as sandbox:
        yield sandbox


@pytest.fixture
def user(slow: Sandbox) -> Client:
    return Client(slow, "demo")


def answers(cloud: Sandbox, server: dict[str, object] | str) -> bool:
    where = server if isinstance(server, str) else address(server)  # type: ignore[arg-type]
    try:
        with socket.create_connection((where, cloud.server_port), timeout=2):
            return True
    except OSError:
        return False


def test_addresses_are_127_0_1_n_and_never_dot_0_1_or_255() -> None:
    assert loopback_address(0) == "127.0.1.2"
    assert loopback_address(252) == "127.0.1.254"
    assert loopback_address(253) == "127.0.2.2"


def test_seeded_servers_answer_on_the_server_port(
    slow: Sandbox, user: Client
) -> None:
    assert slow.server_port not in (0, slow.port)
    for server_id in (MYSERVER, *WEB_IDS):
        assert answers(slow, show(user, server_id))


def test_a_new_server_answers_once_active_not_while_building(
    slow: Sandbox, user: Client
) -> None:
    server_id = create(user).json()["server"]["id"]
    building = show(user, server_id)
    assert not answers(slow, building)
    finish(slow)
    active = show(user, server_id)
    assert active["status"] == "ACTIVE"
    assert answers(slow, active)
    assert slow.server_record(server_id)["answering"] is True


def test_an_image_set_not_to_answer_boots_active_and_silent(
    slow: Sandbox, user: Client
) -> None:
    image = admin(slow, "POST", "/images", {"server_id": MYSERVER}).json()[
        "id"
    ]
    admin(slow, "PUT", f"/images/{image}/boot", {"outcome": "no-answer"})
    server_id = create(user, image=image).json()["server"]["id"]
    finish(slow)
    server = show(user, server_id)
    assert server["status"] == "ACTIVE"
    assert not answers(slow, server)
    assert slow.server_record(server_id)["answering"] is False


def test_the_socket_closes_on_delete_at_once(
    slow: Sandbox, user: Client
) -> None:
    server = show(user, MYSERVER)
    assert answers(slow, server)
    assert user.delete(f"{user.compute}/servers/{MYSERVER}").status_code == 204
    assert show(user, MYSERVER)["status"] == "DELETED"
    assert not answers(slow, server)


def test_the_socket_closes_on_an_admin_delete(
    slow: Sandbox, user: Client
) -> None:
    server = show(user, MYSERVER)
    assert admin(slow, "DELETE", f"/servers/{MYSERVER}").status_code == 204
    assert not answers(slow, server)


def test_the_socket_closes_during_a_rebuild_and_opens_after(
    slow: Sandbox, user: Client
) -> None:
    server = show(user, MYSERVER)
    act(user, MYSERVER, {"rebuild": {"imageRef": server["image"]["id"]}})
    assert not answers(slow, server)
    finish(slow)
    assert show(user, MYSERVER)["status"] == "ACTIVE"
    assert answers(slow, server)


def test_a_server_set_to_shutoff_does_not_answer(
    slow: Sandbox, user: Client
) -> None:
    server = show(user, MYSERVER)
    slow.set_server_state(MYSERVER, "SHUTOFF")
    assert not answers(slow, server)
    slow.set_server_state(MYSERVER, "ACTIVE")
    assert answers(slow, server)


def test_stop_closes_every_socket_and_ends_the_thread() -> None:
    cloud = Sandbox().start()
    user = Client(cloud, "demo")
    server = show(user, MYSERVER)
    port = cloud.server_port
    name = f"sandbox-servers-{port}"
    assert any(t.name == name for t in threading.enumerate())
    cloud.stop()
    assert not any(t.name == name for t in threading.enumerate())
    assert cloud.lifecycle.listeners.open_addresses() == []
    with pytest.raises(OSError):
        socket.create_connection((address(server), port), timeout=2).close()
    # The port is free again: nothing of the sandbox holds it.
    with socket.socket() as probe:
        probe.bind(("127.0.1.1", port))


def test_a_restarted_sandbox_answers_again() -> None:
    cloud = Sandbox()
    with cloud:
        pass
    with cloud:
        assert answers(cloud, "127.0.1.2")


def test_sandboxes_side_by_side_use_different_ports() -> None:
    with Sandbox() as one, Sandbox() as two:
        assert one.server_port != two.server_port
        assert answers(one, "127.0.1.2") and answers(two, "127.0.1.2")
        admin(one, "DELETE", f"/servers/{MYSERVER}")
        assert not answers(one, "127.0.1.2")
        assert answers(two, "127.0.1.2")


def test_a_chosen_server_port_is_used() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.1.1", 0))
        port = probe.getsockname()[1]
    with Sandbox(server_port=port) as cloud:
        assert cloud.server_port == port
        assert answers(cloud, "127.0.1.2")
    assert Sandbox(server_port=port).server_port == port


def test_a_server_port_in_use_fails_the_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.1.1", 0))
        cloud = Sandbox(server_port=taken.getsockname()[1])
        with pytest.raises(OSError):
            cloud.start()
    assert cloud._httpd is None


def test_reset_closes_new_servers_sockets_and_keeps_the_seeded_ones(
    slow: Sandbox, user: Client
) -> None:
    server_id = create(user).json()["server"]["id"]
    finish(slow)
    new = show(user, server_id)
    assert answers(slow, new)
    assert admin(slow, "POST", "/reset").status_code == 204
    assert not answers(slow, new)
    assert answers(slow, "127.0.1.2")
    assert slow.lifecycle.listeners.open_addresses() == [
        f"127.0.1.{n}" for n in range(2, 8)
    ]
