"""Errors procmine reports to users as one actionable line (tracebacks only under --debug)."""

from __future__ import annotations


class ProcmineError(Exception):
    """An error with a message a user can act on."""


class ConfigError(ProcmineError):
    """The configuration is missing, malformed or inconsistent."""


class InputError(ProcmineError):
    """A source file cannot be read; names the file and, where known, row and column."""

    def __init__(
        self, message: str, *, path: str | None = None, row: int | None = None,
        column: str | None = None, fatal: bool = False,
    ) -> None:
        where = ", ".join(
            part for part in (
                path, f"row {row}" if row is not None else None,
                f"column {column!r}" if column else None,
            ) if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.path, self.row, self.column = path, row, column
        # fatal: stop the whole command (e.g. an ambiguous date format to be configured),
        # not just skip this file
        self.fatal = fatal


class RunLockedError(ProcmineError):
    """Another procmine run holds the database lock."""


class ValidationFailed(ProcmineError):
    """A batch-level expectation failed: the run stops before publishing."""


class NotBuiltYet(ProcmineError):
    """A command whose capability is not implemented yet."""
