"""restore_test.py: each server's verdict and the check's output. Pure."""

from __future__ import annotations

from rax_scheduled_images_python_novaclient_ext import restore_test as rt


def outcome(name, result, seconds=None, reason="", unknown=False):
    return rt.Outcome(
        f"id-{name}",
        name,
        result,
        reason,
        boot_seconds=seconds,
        unknown=unknown,
    )


def test_all_passed_is_ok_with_boot_seconds_as_perfdata():
    lines, code = rt.report(
        [outcome("a", rt.PASSED, 12.34), outcome("b", rt.PASSED, 3.0)]
    )
    assert code == 0
    assert lines == [
        "RESTORE TEST OK - 2 servers: 2 passed | 'failed'=0;;; "
        "'timed-out'=0;;; 'no-image'=0;;; 'passed'=2;;; "
        "'boot a'=12.3s;;; 'boot b'=3.0s;;;"
    ]


def test_no_image_is_warning():
    lines, code = rt.report(
        [outcome("a", rt.PASSED, 1.0), outcome("b", rt.NO_IMAGE, None, "none")]
    )
    assert code == 1
    assert lines[0].startswith("RESTORE TEST WARNING - 2 servers: 1 passed, ")
    assert lines[1:] == ["no-image: b (id-b): none"]


def test_failed_and_timed_out_are_critical_worst_first():
    lines, code = rt.report(
        [
            outcome("c", rt.NO_IMAGE, reason="none"),
            outcome("b", rt.TIMED_OUT, reason="slow"),
            outcome("a", rt.FAILED, reason="ERROR"),
        ]
    )
    assert code == 2
    assert lines[0].startswith(
        "RESTORE TEST CRITICAL - 3 servers: 0 passed, 1 failed, "
        "1 timed-out, 1 no-image |"
    )
    assert lines[1:] == [
        "failed: a (id-a): ERROR",
        "timed-out: b (id-b): slow",
        "no-image: c (id-c): none",
    ]


def test_quota_refusal_is_unknown():
    lines, code = rt.report(
        [
            outcome("a", rt.FAILED, reason="boom"),
            outcome("b", rt.FAILED, reason="Quota exceeded", unknown=True),
        ]
    )
    assert code == 3
    assert lines[0].startswith("RESTORE TEST UNKNOWN - 2 servers: 0 passed, ")
    assert "2 failed, 1 unknown |" in lines[0]


def test_unknown_line():
    assert rt.unknown("Unauthorized: \n bad token") == (
        ["RESTORE TEST UNKNOWN - Unauthorized: bad token"],
        3,
    )


def test_json_values_follow_the_keys():
    row = rt.Outcome("i", "n", rt.PASSED, image_id="img", boot_seconds=2.5)
    assert dict(zip(rt.KEYS, row.values(), strict=True)) == {
        "server_id": "i",
        "server_name": "n",
        "image_id": "img",
        "image_created": None,
        "boot_seconds": 2.5,
        "port_open": None,
        "result": "passed",
        "reason": None,
    }


def test_cleanup_line():
    assert rt.cleanup_line([]) == (
        "No throwaway server of an earlier restore test was left."
    )
    assert rt.cleanup_line(["a", "b"]) == (
        "Deleted 2 throwaway servers an earlier restore test left behind: a, b"
    )


def test_a_name_cannot_forge_a_line_or_performance_data():
    odd = "db\nRESTORE TEST OK | 'x'=1"
    lines, code = rt.report(
        [outcome(odd, rt.PASSED, 1.0), outcome(odd, rt.FAILED, 2.0, "ERROR")]
    )
    assert code == 2
    assert len(lines) == 2
    assert lines[0].count("|") == 1
    assert "'boot db\\nRESTORE TEST OK \\x7c _x__1'=1.0s;;;" in lines[0]
    assert lines[1].startswith("failed: db\\nRESTORE TEST OK \\x7c 'x'=1 (")
