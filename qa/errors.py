"""One base for the errors a user may meet: the CLI and the pages show their message, not a traceback."""

from __future__ import annotations


class CpdqaError(Exception):
    """A user-facing problem with a plain-English message. `exit_code` is what the CLI exits with."""

    exit_code = 2
