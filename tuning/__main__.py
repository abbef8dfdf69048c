"""`python -m tuning` reaches the same `run` as the `tuning` console script."""

import signal
import sys

try:
    from tuning.cli.main import run
except KeyboardInterrupt:  # Ctrl-C in the first moments: one line, not a traceback
    print("interrupted while starting; nothing had run yet", file=sys.stderr)
    raise SystemExit(128 + signal.SIGINT) from None

run()
