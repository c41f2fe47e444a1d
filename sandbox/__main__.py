"""`python -m sandbox --host 127.0.0.1 --port 9100 [--latency-ms N] [--error-rate F] ...`

Start values come from the defaults, then `SANDBOX_*` environment variables, then the command
line (docs/sandbox.md lists them all).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any

import uvicorn

from sandbox.app import create_app
from sandbox.knobs import KnobError, Knobs, coerce, from_environment, parse_assignment

logger = logging.getLogger("sandbox")

# knob → command-line flag, where the flag is not simply --knob-name
FLAG_NAMES = {"rate_limit_per_second": "--rate-limit"}


def _flag(knob: str) -> str:
    return FLAG_NAMES.get(knob, "--" + knob.replace("_", "-"))


def build_parser(environ: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="data-engine-x provider sandbox")
    parser.add_argument("--host", default=environ.get("SANDBOX_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(environ.get("SANDBOX_PORT", "9100")))
    parser.add_argument("--seed", type=int, default=int(environ.get("SANDBOX_SEED", "0")), help="fault-injection seed")
    parser.add_argument(
        "--access-log",
        action="store_true",
        default=environ.get("SANDBOX_ACCESS_LOG", "").lower() in ("1", "true", "yes", "on"),
        help="log every request (off by default: it costs throughput)",
    )
    parser.add_argument("--log-level", default=environ.get("SANDBOX_LOG_LEVEL", "info"))
    for f in fields(Knobs):
        parser.add_argument(_flag(f.name), dest=f.name, default=None, metavar="N", help=f"knob {f.name}")
    parser.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="[PROVIDER.]KNOB=VALUE",
        help="a per-provider override (repeatable), e.g. --set icypeas.latency_ms=200",
    )
    return parser


def settings_from(argv: Sequence[str], environ: Mapping[str, str]) -> tuple[argparse.Namespace, Knobs, dict[str, Any]]:
    parser = build_parser(environ)
    args = parser.parse_args(argv)
    try:
        global_values, overrides = from_environment(environ)
        for f in fields(Knobs):
            raw = getattr(args, f.name)
            if raw is not None:
                global_values[f.name] = coerce(f.name, raw)
        for text in args.assignments:
            provider, knob, value = parse_assignment(text)
            if provider is None:
                global_values[knob] = value
            else:
                overrides.setdefault(provider, {})[knob] = value
    except KnobError as exc:
        parser.error(str(exc))
    return args, Knobs(**global_values), overrides


def main(argv: Sequence[str] | None = None) -> None:
    args, knobs, overrides = settings_from(sys.argv[1:] if argv is None else argv, os.environ)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(knobs, overrides, seed=args.seed)
    logger.info("provider sandbox on http://%s:%d/<provider> (key %r)", args.host, args.port, "sandbox-key")
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=args.access_log,
        log_level=args.log_level.lower(),
        timeout_graceful_shutdown=2,  # do not wait out long Parallel result waits on Ctrl-C
        server_header=False,
    )


if __name__ == "__main__":
    main()
