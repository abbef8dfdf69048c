"""`python -m tuning` reaches the same `main` as the `tuning` console script."""

import signal
import sys

try:
    from tuning.cli.main import main
except KeyboardInterrupt:  # Ctrl-C in the first moments: one line, not a traceback
    print("interrupted while starting; nothing had run yet", file=sys.stderr)
    raise SystemExit(128 + signal.SIGINT) from None

raise SystemExit(main())
