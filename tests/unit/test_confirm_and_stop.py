"""Two rules no test held in 1.1.0 (issue 19): only a 404 from
``GET /servers/{id}`` means "no such server", and ``set`` goes through
the stop check between its read of the schedule and its POST."""

from __future__ import annotations

import io
import threading

import pytest
from novaclient import exceptions

from rax_scheduled_images_python_novaclient_ext import actions, bulk, errors
from rax_scheduled_images_python_novaclient_ext import manager as m
from rax_scheduled_images_python_novaclient_ext import schedule as domain
from rax_scheduled_images_python_novaclient_ext.retry import RetryPolicy

from .conftest import NO_SCHEDULE_404, SERVER_ID, SERVER_URL, not_found

OS_URL = f"{SERVER_URL}/os-si-image-schedule"
NO_RETRIES = RetryPolicy(retries=0)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (503, exceptions.ClientException),
        (403, exceptions.Forbidden),
        (500, exceptions.ClientException),
        (401, exceptions.Unauthorized),
    ],
)
@pytest.mark.parametrize("call", ["get", "disable", "confirm_server"])
def test_only_a_404_means_no_such_server(client, mock, status, error, call):
    # During an outage, "No server with a name or ID of 'X' exists." would
    # send a user looking for a typo that is not there.
    mock.get(SERVER_URL, status_code=status, json={"error": {"code": status}})
    mock.get(OS_URL, status_code=404, json=NO_SCHEDULE_404)
    mock.delete(OS_URL, status_code=202)
    manager = m.ScheduleManager(client, retry_policy=NO_RETRIES)
    with pytest.raises(error) as caught:
        getattr(manager, call)(SERVER_ID)
    assert not isinstance(caught.value, errors.NoSuchServer)
    assert getattr(caught.value, "code", None) == status
    assert not [r for r in mock.request_history if r.method == "DELETE"]


def test_a_404_is_no_such_server(client, mock):
    mock.get(SERVER_URL, status_code=404, json=not_found("gone"))
    with pytest.raises(errors.NoSuchServer):
        m.ScheduleManager(client).confirm_server(SERVER_ID)


class Schedules:
    """A schedule manager whose read is where Ctrl-C comes."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self.posted: list[object] = []

    def get(self, server: object, confirm: bool = True) -> object:
        self.stop.set()  # Ctrl-C while the current schedule is read
        raise errors.NoSchedule(str(server))

    def set(self, server: object, wanted: object) -> object:
        self.posted.append(server)
        raise AssertionError("POSTed after Ctrl-C")


def test_set_schedule_sends_no_post_after_a_stop_during_its_read():
    stop = threading.Event()
    schedules = Schedules(stop)
    wanted = domain.Schedule(retention=3, day_of_week=None)

    def change(server: str) -> domain.Schedule:
        return actions.set_schedule(
            schedules, lambda: None, server, server, wanted,
            dry_run=False, err=io.StringIO(),
        )  # fmt: skip

    with pytest.raises(bulk.Interrupted) as caught:
        bulk.run([SERVER_ID], change, lambda *a: None, 1, stop=stop)
    assert schedules.posted == []
    assert caught.value.line == (
        f"Interrupted: 0 of 1 done; not started: {SERVER_ID}"
    )
