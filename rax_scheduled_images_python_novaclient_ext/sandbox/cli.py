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
"""`scheduled-images-sandbox`: run the sandbox, or drive a running one.

    scheduled-images-sandbox [serve] [--port 0] [--alias ...] ...
    scheduled-images-sandbox tick --url URL [--days N]
    scheduled-images-sandbox clock --url URL [--set ISO8601]
    scheduled-images-sandbox requests --url URL [--clear]
    scheduled-images-sandbox reset --url URL

`serve` prints `export` lines for the OS_* variables (everything else it
prints starts with `#`), so its output can be saved and sourced.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from types import FrameType
from typing import Any, NoReturn
from urllib.parse import urlsplit

from .admin import MAX_TICK_DAYS
from .faults import DEFAULT_FAULT_CODES, parse_codes
from .handler import MAX_BODY
from .model import ALIASES, DEFAULT_MAX_RETENTION, OS_SI_ALIAS, parse_time
from .server import Sandbox

URL_VARIABLE = "SCHEDULED_IMAGES_SANDBOX_URL"
COMMANDS = ("serve", "tick", "clock", "requests", "reset")
# Exit codes: 1 the sandbox could not do it (port in use, unreachable
# URL, an error answer), 2 the command line itself is wrong.
USAGE_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (usage is under --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            USAGE_ERROR,
            f"{self.prog}: error: {message} (see {self.prog} --help)\n",
        )


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _in_range(text: str, low: int, high: float, message: str) -> int:
    value = int(text)
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(message)
    return value


# Each option keeps a converter of its own name: argparse shows the name
# ("invalid _port value: 'abc'") when the text is not a number at all.
def _count(text: str) -> int:
    return _in_range(text, 0, math.inf, "must be 0 or more")


def _port(text: str) -> int:
    return _in_range(text, 0, 65535, "must be from 0 to 65535")


def _days(text: str) -> int:
    return _in_range(
        text, 1, MAX_TICK_DAYS, f"must be from 1 to {MAX_TICK_DAYS}"
    )


def _clock(text: str) -> str:
    try:
        parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "not an ISO 8601 time from the year 1 to 9999 (in UTC)"
        ) from None
    return text


def _codes(text: str) -> tuple[int, ...]:
    try:
        codes = parse_codes(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            "give codes separated by commas, e.g. 503,429"
        ) from None
    if any(not 400 <= code <= 599 for code in codes):
        raise argparse.ArgumentTypeError("codes must be 4xx or 5xx")
    return codes


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="scheduled-images-sandbox",
        description="A local cloud serving Scheduled Images, for tests "
        "and demos.",
    )
    commands = parser.add_subparsers(dest="command")
    serve = commands.add_parser("serve", help="run the sandbox (default)")
    _add_cloud_options(serve)
    _add_fault_options(serve)
    _add_serving_options(serve)
    _add_drive_commands(commands)
    return parser


def _add_cloud_options(serve: argparse.ArgumentParser) -> None:
    """`serve`: where it listens, and the cloud it starts with."""
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument(
        "--port", type=_port, default=0, help="0 picks a free port"
    )
    serve.add_argument("--alias", choices=ALIASES, default=OS_SI_ALIAS)
    serve.add_argument(
        "--max-retention",
        type=int,
        default=DEFAULT_MAX_RETENTION,
        help="the largest retention accepted (production: 65535)",
    )
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument(
        "--servers", type=_count, default=0, help="generate a fleet"
    )
    serve.add_argument(
        "--scheduled", type=_count, default=0, help="of them scheduled"
    )
    serve.add_argument(
        "--images", type=_count, default=0, help="images spread over them"
    )
    serve.add_argument(
        "--state-file", help="save after every change and load on start"
    )
    serve.add_argument("--clock", type=_clock, help="start time, ISO 8601")


def _add_fault_options(serve: argparse.ArgumentParser) -> None:
    """`serve`: latency, error answers and dropped connections."""
    serve.add_argument("--latency-ms", type=_count, default=0)
    serve.add_argument("--fault-rate", type=_rate, default=0.0)
    serve.add_argument("--drop-rate", type=_rate, default=0.0)
    serve.add_argument(
        "--fault-codes",
        type=_codes,
        default=DEFAULT_FAULT_CODES,
        help="comma-separated, default 503,429,413",
    )
    serve.add_argument(
        "--retry-after",
        type=_count,
        default=1,
        help="seconds, sent with 413, 429 and 503",
    )
    serve.add_argument(
        "--fault-identity",
        action="store_true",
        help="inject faults into identity calls too",
    )


def _add_serving_options(serve: argparse.ArgumentParser) -> None:
    """`serve`: the body cap, a second region, a request log on stderr."""
    serve.add_argument("--max-body", type=_count, default=MAX_BODY)
    serve.add_argument(
        "--second-region",
        metavar="NAME",
        help="list an empty second region in the catalog (see regions.py)",
    )
    serve.add_argument(
        "--regions",
        metavar="NAME,NAME",
        type=_region_names,
        default=None,
        help="serve these regions, each with servers, schedules and images "
        "of its own; the first is the default one (see regionset.py)",
    )
    serve.add_argument(
        "--failing-region",
        metavar="NAME",
        help="make every compute and image request of this region answer "
        "503 (PUT /sandbox/regions/NAME/fail changes it)",
    )
    serve.add_argument(
        "--verbose", action="store_true", help="log each request"
    )


def _region_names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a comma-separated list of region names"
        )
    return names


def _add_drive_commands(commands: Any) -> None:
    """The subcommands that drive a running sandbox through its URL."""
    url_default = os.environ.get(URL_VARIABLE)
    url_help = f"the sandbox's URL (default: ${URL_VARIABLE})"
    tick = commands.add_parser("tick", help="let days pass")
    tick.add_argument("--url", default=url_default, help=url_help)
    tick.add_argument("--days", type=_days, default=1)
    clock = commands.add_parser("clock", help="show or set the clock")
    clock.add_argument("--url", default=url_default, help=url_help)
    clock.add_argument("--set", dest="value", type=_clock)
    requests = commands.add_parser("requests", help="show the request log")
    requests.add_argument("--url", default=url_default, help=url_help)
    requests.add_argument("--clear", action="store_true")
    reset = commands.add_parser("reset", help="back to the seeded state")
    reset.add_argument("--url", default=url_default, help=url_help)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or args_list[0] not in (*COMMANDS, "-h", "--help"):
        args_list.insert(0, "serve")
    args = build_parser().parse_args(args_list)
    if args.command == "serve":
        return _serve(args)
    if not args.url:
        print(f"error: give --url or set {URL_VARIABLE}", file=sys.stderr)
        return USAGE_ERROR
    if not _is_url(args.url):
        print(
            f"error: --url {args.url} is not a URL like http://127.0.0.1:PORT",
            file=sys.stderr,
        )
        return USAGE_ERROR
    return _drive(args)


def _is_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _emit(text: str) -> None:
    """Print to stdout, where a reader may have gone (``| head -1``).

    A reader that stops reading is not a failure of the command, whose
    work is done (or, for `serve`, goes on): the rest of the output is
    dropped, without a traceback, and the exit code stays what it was.
    """
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # Later writes, and the flush at exit, go nowhere instead of
        # failing again (the recipe of the `signal` module's docs).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _serve(args: argparse.Namespace) -> int:
    try:
        sandbox = Sandbox(
            alias=args.alias,
            seed=args.seed,
            servers=args.servers,
            scheduled=args.scheduled,
            images=args.images,
            state_file=args.state_file,
            latency_ms=args.latency_ms,
            fault_rate=args.fault_rate,
            drop_rate=args.drop_rate,
            fault_codes=args.fault_codes,
            retry_after=args.retry_after,
            fault_identity=args.fault_identity,
            max_retention=args.max_retention,
            clock=args.clock,
            host=args.host,
            port=args.port,
            max_body=args.max_body,
            verbose=args.verbose,
            second_region=args.second_region,
            regions=args.regions,
            failing_region=args.failing_region,
        )
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        sandbox.start()
    except ValueError as exc:
        # A setting the sandbox cannot work with: the state file, the clock.
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        _emit(banner(sandbox))
        while not stop.wait(0.2):
            pass
    finally:
        sandbox.stop()
    _emit("# stopped")
    return 0


def banner(sandbox: Sandbox) -> str:
    """What `serve` prints once listening; the last line is `# ready`."""
    lines = [
        f"# Scheduled Images sandbox on {sandbox.url} (alias {sandbox.alias})",
        f"# port: {sandbox.port}",
        f"export {URL_VARIABLE}={sandbox.url}",
    ]
    for name, value in sandbox.env().items():
        if name in ("OS_IDENTITY_API_VERSION", "OS_REGION_NAME"):
            continue
        lines.append(f"export {name}={value}")
    lines += [f"export {n}={v}" for n, v in sandbox.now_env().items()]
    lines += [
        "# OS_COMPUTE_API_VERSION is not needed: the compute endpoint is a "
        "legacy v2.0 one and nova settles on 2.0 by itself.",
        "# Users: demo/secret (API key demo-api-key), alt/secret "
        "(alt-api-key).",
        f"# Let a day pass: scheduled-images-sandbox tick --url {sandbox.url}",
        "# ready",
    ]
    return "\n".join(lines)


def _call(
    url: str, method: str, path: str, body: dict[str, Any] | None = None
) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url.rstrip("/") + path,
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        text = answer.read()
    return json.loads(text) if text else None


def _drive(args: argparse.Namespace) -> int:
    try:
        if args.command == "tick":
            result = _call(
                args.url, "POST", "/sandbox/tick", {"days": args.days}
            )
        elif args.command == "clock":
            if args.value:
                result = _call(
                    args.url, "PUT", "/sandbox/clock", {"clock": args.value}
                )
            else:
                result = _call(args.url, "GET", "/sandbox/clock")
        elif args.command == "requests":
            if args.clear:
                result = _call(args.url, "DELETE", "/sandbox/requests")
            else:
                result = _call(args.url, "GET", "/sandbox/requests")
        else:
            result = _call(args.url, "POST", "/sandbox/reset")
    except urllib.error.HTTPError as exc:
        print(
            f"error: HTTP {exc.code}: {exc.read().decode()}", file=sys.stderr
        )
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"error: cannot reach {args.url}: {exc}", file=sys.stderr)
        return 1
    if result is not None:
        _emit(json.dumps(result, indent=2))
    return 0
