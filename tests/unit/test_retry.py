"""The retry policy: delays, caps, and which answers are tried again."""

from __future__ import annotations

import pytest
from novaclient import exceptions

from rax_scheduled_images_python_novaclient_ext import retry


def test_backoff_doubles_and_is_capped():
    policy = retry.RetryPolicy(retries=5, backoff=0.5, max_delay=3)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1, 2, 3, 3]


@pytest.mark.parametrize(
    ("hint", "expected"),
    [
        (2, 2.0),
        ("4", 4.0),
        (3600, 10.0),
        (0, 0.5),
        (None, 0.5),
        ("Wed, 21 Oct 2026 07:28:00 GMT", 0.5),
        ("-5", 0.5),
    ],
)
def test_retry_after_wins_within_the_cap(hint, expected):
    assert retry.RetryPolicy().delay(1, hint) == expected


def test_policy_from_environment():
    policy = retry.RetryPolicy.from_env(
        {retry.ENV_RETRIES: "7", retry.ENV_MAX_DELAY: "2.5"}
    )
    assert (policy.retries, policy.max_delay) == (7, 2.5)
    assert retry.RetryPolicy.from_env({}) == retry.RetryPolicy()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("SCHEDULED_IMAGES_RETRIES", "many",
         "SCHEDULED_IMAGES_RETRIES must be a whole number of retries, 0 or "
         "more (got 'many')."),
        ("SCHEDULED_IMAGES_RETRIES", "2.5",
         "SCHEDULED_IMAGES_RETRIES must be a whole number of retries, 0 or "
         "more (got '2.5')."),
        ("SCHEDULED_IMAGES_RETRIES", "-1",
         "SCHEDULED_IMAGES_RETRIES cannot be negative (got -1): give the "
         "number of retries, or 0 to turn retries off."),
        ("SCHEDULED_IMAGES_RETRY_MAX_DELAY", "soon",
         "SCHEDULED_IMAGES_RETRY_MAX_DELAY must be a number of seconds, 0 or "
         "more (got 'soon')."),
        ("SCHEDULED_IMAGES_RETRY_MAX_DELAY", "-0.5",
         "SCHEDULED_IMAGES_RETRY_MAX_DELAY cannot be negative (got -0.5): "
         "give the longest wait before a retry, in seconds."),
        ("SCHEDULED_IMAGES_RETRY_MAX_DELAY", "nan",
         "SCHEDULED_IMAGES_RETRY_MAX_DELAY must be a finite number of "
         "seconds (got 'nan')."),
        ("SCHEDULED_IMAGES_RETRY_MAX_DELAY", "inf",
         "SCHEDULED_IMAGES_RETRY_MAX_DELAY must be a finite number of "
         "seconds (got 'inf')."),
    ],
)  # fmt: skip
def test_policy_from_environment_says_what_is_wrong(variable, value, message):
    with pytest.raises(ValueError) as raised:
        retry.RetryPolicy.from_env({variable: value})
    assert str(raised.value) == message


def test_policy_refuses_negative_settings_by_name():
    with pytest.raises(ValueError) as raised:
        retry.RetryPolicy(retries=-1)
    assert (
        str(raised.value) == "RetryPolicy retries cannot be negative (got -1)."
    )
    with pytest.raises(ValueError, match="max_delay cannot be negative"):
        retry.RetryPolicy(max_delay=-2.0)


def failing(codes, result="ok"):
    calls = []

    def send():
        calls.append(1)
        if len(calls) <= len(codes):
            code = codes[len(calls) - 1]
            if code == 429:
                raise exceptions.RateLimit(429, retry_after="1")
            raise exceptions.ClientException(code, "boom")
        return result

    return send, calls


def test_call_retries_retriable_answers_then_succeeds():
    slept = []
    send, calls = failing([503, 429, 502])
    assert retry.call(retry.RetryPolicy(), send, slept.append) == "ok"
    assert len(calls) == 4
    assert slept == [0.5, 1.0, 2.0]


def test_call_gives_up_after_the_retries_with_the_last_error():
    slept = []
    send, calls = failing([503, 503, 503])
    with pytest.raises(exceptions.ClientException) as raised:
        retry.call(retry.RetryPolicy(retries=2), send, slept.append)
    assert raised.value.code == 503
    assert len(calls) == 3


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 500])
def test_call_never_retries_other_errors(code):
    send, calls = failing([code])
    with pytest.raises(exceptions.ClientException):
        retry.call(retry.RetryPolicy(), send, lambda _: None)
    assert len(calls) == 1


# -- wired into the managers ---------------------------------------------

SERVER_ID = "24ade2fe-60d9-4d3e-a02c-c9a6a1b588a6"


@pytest.fixture
def no_sleep(no_real_sleep):
    return no_real_sleep


def test_manager_retries_503_and_429_then_sets_the_same_schedule(
    client, mock, no_sleep
):
    from rax_scheduled_images_python_novaclient_ext.manager import (
        ScheduleManager,
    )

    from .conftest import COMPUTE

    url = f"{COMPUTE}/servers/{SERVER_ID}/os-si-image-schedule"
    mock.post(
        url,
        [
            {"status_code": 503, "json": {"x": {"message": "busy"}}},
            {
                "status_code": 429,
                "headers": {"Retry-After": "3600"},
                "json": {"overLimit": {"message": "slow down"}},
            },
            {"json": {"image_schedule": {"retention": 9}}},
        ],
    )
    found = ScheduleManager(client).enable(SERVER_ID, 9)
    assert found.retention == 9
    bodies = [r.json() for r in mock.request_history]
    assert bodies == [{"image_schedule": {"retention": 9}}] * 3
    # The hour the server asked for is capped at the policy's 10 s.
    assert no_sleep == [0.5, 10.0]


def test_manager_retries_dropped_connections(client, mock, no_sleep):
    from keystoneauth1 import exceptions as ks_exceptions

    from rax_scheduled_images_python_novaclient_ext.manager import (
        ScheduleManager,
    )

    from .conftest import COMPUTE

    url = f"{COMPUTE}/servers/{SERVER_ID}/os-si-image-schedule"
    mock.get(
        url,
        [
            {"exc": ks_exceptions.ConnectFailure("reset")},
            {"json": {"image_schedule": {"retention": 2}}},
        ],
    )
    assert ScheduleManager(client).get(SERVER_ID).retention == 2
    assert len(mock.request_history) == 2


def test_manager_never_retries_a_timeout(client, mock, no_sleep):
    from keystoneauth1 import exceptions as ks_exceptions

    from rax_scheduled_images_python_novaclient_ext.manager import (
        ScheduleManager,
    )

    from .conftest import COMPUTE

    url = f"{COMPUTE}/servers/{SERVER_ID}/os-si-image-schedule"
    mock.get(url, exc=ks_exceptions.ConnectTimeout("timed out"))
    with pytest.raises(ks_exceptions.ConnectTimeout):
        ScheduleManager(client).get(SERVER_ID)
    assert len(mock.request_history) == 1


def test_manager_gives_up_after_its_retries(client, mock, no_sleep):
    from rax_scheduled_images_python_novaclient_ext.manager import (
        ScheduleManager,
    )

    from .conftest import COMPUTE

    url = f"{COMPUTE}/servers/{SERVER_ID}/os-si-image-schedule"
    mock.get(url, status_code=503, json={"x": {"message": "down"}})
    manager = ScheduleManager(
        client, retry_policy=retry.RetryPolicy(retries=2)
    )
    with pytest.raises(exceptions.ClientException) as raised:
        manager.get(SERVER_ID)
    assert raised.value.code == 503
    assert len(mock.request_history) == 3


def test_retries_come_from_the_environment(client, monkeypatch):
    from rax_scheduled_images_python_novaclient_ext.manager import (
        ScheduleManager,
    )

    monkeypatch.setenv(retry.ENV_RETRIES, "0")
    assert ScheduleManager(client).retry_policy.retries == 0


def test_nova_says_what_is_wrong_with_the_retries_variable(nova, monkeypatch):
    monkeypatch.setenv("SCHEDULED_IMAGES_RETRIES", "-1")
    result = nova("scheduled-images-show", "myserver")
    assert result.code == 1
    assert [
        line for line in result.err.splitlines() if "deprecated" not in line
    ] == [
        "ERROR (ValueError): SCHEDULED_IMAGES_RETRIES cannot be negative "
        "(got -1): give the number of retries, or 0 to turn retries off."
    ]
