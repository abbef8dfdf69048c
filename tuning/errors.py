"""Errors the CLI turns into one `error: ...` line and exit status 2."""


class TuningError(Exception):
    """Bad input or an environment problem the user can fix; never a bug."""


class DataError(TuningError):
    """A dataset file is missing, truncated or corrupt, or no source has the dataset."""
