"""Streams that escape what their encoding cannot show (terminal.py)."""

from __future__ import annotations

import argparse
import io

from rax_scheduled_images_python_novaclient_ext import terminal


def stream(encoding: str, errors: str = "strict") -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors=errors)


def written(out: io.TextIOWrapper) -> bytes:
    out.flush()
    return out.buffer.getvalue()  # type: ignore[attr-defined,no-any-return]


def test_strict_ascii_escapes_instead_of_failing():
    out = stream("ascii")
    terminal.escape_unprintable(out)
    out.write("café ☕ 🚀\n")
    assert written(out) == b"caf\\xe9 \\u2615 \\U0001f680\n"


def test_latin1_keeps_what_it_can_show():
    out = stream("iso-8859-1")
    terminal.escape_unprintable(out)
    out.write("café ☕\n")
    assert written(out) == b"caf\xe9 \\u2615\n"


def test_bytes_undecodable_on_the_command_line_go_back_as_they_came():
    # Under LC_ALL=C with PYTHONUTF8=0, "café" typed on a UTF-8 terminal
    # arrives as "caf\udcc3\udca9" (PEP 383); API names are real text.
    out = stream("ascii", "surrogateescape")
    terminal.escape_unprintable(out)
    out.write("caf\udcc3\udca9 / caf\xe9\n")
    assert written(out) == b"caf\xc3\xa9 / caf\\xe9\n"


def test_streams_that_already_cope_are_left_alone():
    out = stream("ascii", "replace")
    text = io.StringIO()
    terminal.escape_unprintable(out, text, object())
    assert out.errors == "replace"


def test_arguments_undecoded_by_an_ascii_locale_are_read_as_utf8():
    # What Python makes of "café ☕" typed under LC_ALL=C, PYTHONUTF8=0.
    undecoded = "café ☕".encode().decode("ascii", "surrogateescape")
    assert terminal.as_typed(undecoded) == "café ☕"
    # Not UTF-8: left as it came; plain text is never touched.
    assert terminal.as_typed("caf\udce9") == "caf\udce9"
    assert terminal.as_typed("café") == "café"
    parsed = argparse.Namespace(
        server=[undecoded, "db"], retention="6", daily=False
    )
    terminal.read_as_typed(parsed)
    assert vars(parsed) == {
        "server": ["café ☕", "db"],
        "retention": "6",
        "daily": False,
    }
