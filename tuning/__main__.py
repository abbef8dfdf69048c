"""`python -m tuning` reaches the same `main` as the `tuning` console script."""

from tuning.cli import main

raise SystemExit(main())
