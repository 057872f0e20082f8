# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.
"""Names a terminal cannot show: escaped, never fatal.

Python writes to stdout strictly: under an ASCII or ISO-8859-1 locale, or
with ``PYTHONIOENCODING=ascii``, printing a server called ``café ☕``
raises UnicodeEncodeError, and a bulk change then stops half done and
half reported. Both front ends make their streams escape instead, when a
command starts (every later line, tables and error messages too):
``caf\\xe9 \\u2615``. Bytes that arrived undecodable on the command line
(held as lone surrogates, PEP 383) go back out as they came, as
Python's own ``surrogateescape`` would do; and such arguments are read
as UTF-8 when they are (:func:`as_typed`), so a name typed under an
ASCII locale still finds its server or image.

Standard library only.
"""

from __future__ import annotations

import argparse
import codecs
import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

ERRORS = "scheduled_images_escape"

# Error handlers that give up on a character the encoding lacks.
_FATAL = ("strict", "surrogateescape")


def _undecoded(char: str) -> bool:
    """A byte the locale could not decode, held as a lone surrogate."""
    return 0xDC80 <= ord(char) <= 0xDCFF


def _escape(error: UnicodeError) -> tuple[str | bytes, int]:
    """Encode-error handler: lone surrogates as their byte, the rest as
    backslash escapes."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    chunk = error.object[error.start : error.end]
    if not any(_undecoded(char) for char in chunk):
        escaped = chunk.encode("ascii", "backslashreplace").decode("ascii")
        return escaped, error.end
    out = bytearray()
    for char in chunk:
        if _undecoded(char):
            out.append(ord(char) - 0xDC00)
        else:
            out += char.encode("ascii", "backslashreplace")
    return bytes(out), error.end


codecs.register_error(ERRORS, _escape)


def escape_unprintable(*streams: Any) -> None:
    """Make each text stream escape what its encoding cannot show.

    Streams that already replace or escape, or that are not text files
    with an encoding (a StringIO), are left as they are.
    """
    for stream in streams:
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and stream.errors in _FATAL:
            reconfigure(errors=ERRORS)


def printable(value: T, encoding: str | None) -> T | str:
    """``value`` as a stream of ``encoding`` made by
    :func:`escape_unprintable` prints it, for a table to measure its
    columns by what is printed. Anything but text is left as it is."""
    if not isinstance(value, str) or not encoding:
        return value
    return value.encode(encoding, ERRORS).decode(encoding, "surrogateescape")


def as_typed(value: str) -> str:
    """A command-line argument as typed, when the locale could not say.

    Under an ASCII locale without Python's UTF-8 mode (``LC_ALL=C
    PYTHONUTF8=0``), ``café`` typed on a UTF-8 terminal arrives as
    ``caf\\udcc3\\udca9``, which no request can carry. Such bytes are read
    as UTF-8 (as UTF-8 mode would, and as the cloud's names are); bytes
    that are not UTF-8 stay as they came.
    """
    if not any(_undecoded(char) for char in value):
        return value
    try:
        return os.fsencode(value).decode("utf-8")
    except UnicodeError:
        return value


def read_as_typed(parsed: argparse.Namespace) -> None:
    """:func:`as_typed` on every text argument of a parsed command line."""
    for name, value in vars(parsed).items():
        if isinstance(value, str):
            setattr(parsed, name, as_typed(value))
        elif isinstance(value, list) and all(
            isinstance(item, str) for item in value
        ):
            setattr(parsed, name, [as_typed(item) for item in value])


def escaping_stdio(
    command: Callable[[Any, argparse.Namespace], T],
) -> Callable[[Any, argparse.Namespace], T]:
    """A ``nova`` command that escapes on stdout and stderr what the
    terminal cannot show, and reads its arguments as typed."""

    @functools.wraps(command)
    def run(cs: Any, args: argparse.Namespace) -> T:
        escape_unprintable(sys.stdout, sys.stderr)
        read_as_typed(args)
        return command(cs, args)

    return run
