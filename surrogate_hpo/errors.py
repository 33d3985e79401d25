"""The two errors a user sees: a config that cannot run, and data that cannot be read.

Both are raised before any compute; the CLI turns them into one line on stderr and exit
code 2. Their messages name the key or file and say what to change.
"""

from __future__ import annotations

__all__ = ["ConfigError", "DataError", "SurrogateHpoError"]


class SurrogateHpoError(ValueError):
    """Base of the errors surrogate_hpo raises on bad input."""


class ConfigError(SurrogateHpoError):
    """The configuration cannot run; the message names the key to change and how."""


class DataError(SurrogateHpoError):
    """A problem with snapshot files or their metadata; the message names the file."""
