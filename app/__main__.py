import signal
import sys


def _stopped_before_start(signum: int, frame: object) -> None:
    sys.exit(0)  # nothing is started yet: a stop requested while importing is a clean exit


# importing the app takes a moment; `run` and `demo` install their own handlers once they start
_previous = {s: signal.signal(s, _stopped_before_start) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}

from app.cli import cli  # noqa: E402

for _signal, _handler in _previous.items():
    signal.signal(_signal, _handler)

cli()
