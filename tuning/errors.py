"""Errors the CLI turns into one `error: ...` line and an exit status."""


class TuningError(Exception):
    """Bad input or an environment problem the user can fix; never a bug. Exit status 2."""

    exit_status = 2


class DataError(TuningError):
    """A dataset file is missing, truncated or corrupt, or no source has the dataset."""


class SearchStopped(TuningError):
    """The search could not go on (its last trials all failed); the reports were written."""

    exit_status = 1
