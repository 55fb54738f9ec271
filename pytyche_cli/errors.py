"""Errors as one readable line with the fix, and exit codes that tell usage from failure.

- 0: done.
- 1 (``EXIT_FAILURE``): the command ran but its input was refused (a missing
  file, data that breaks a contract, a fit that cannot be made) or a
  delegated job failed. The line says what and how to fix it.
- 2 (``EXIT_USAGE``): the command line itself is wrong (an unknown option,
  a bad value); nothing ran.
- 3 (``EXIT_INTERNAL``): an unexpected error, which is a bug: the line asks
  for ``--debug`` (full traceback) and a report.
- 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import click

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130

#: Errors that mean "this input was refused": the library's own (every contract and store error is a
#: ValueError or LookupError), and missing or unreadable files.
EXPECTED_ERRORS: tuple[type[BaseException], ...] = (ValueError, LookupError, OSError)

#: A generic fix for expected errors whose message names none.
_DEFAULT_FIXES: tuple[tuple[type[BaseException], str], ...] = (
    (FileNotFoundError, "check the path"),
    (IsADirectoryError, "pass a file, not a folder"),
    (PermissionError, "check the file's permissions"),
    (OSError, "check the path and the disk"),
)


class CliFailure(click.ClickException):
    """A refusal the command itself detects; its message already names the fix."""

    exit_code = EXIT_FAILURE


class CliUsageError(click.UsageError):
    """A wrong command line the command detects after parsing (e.g. two sources at once)."""

    exit_code = EXIT_USAGE


def one_line(text: str) -> str:
    """Collapse whitespace (newlines included) so a message fits on one line."""
    return " ".join(str(text).split())


def sentence(text: str) -> str:
    """``text`` ending in one full stop (or its own ? or !)."""
    text = text.rstrip()
    return text if text.endswith((".", "?", "!")) else f"{text}."


def with_fix(message: str, error: BaseException | None = None) -> str:
    """``message`` with a ``Fix:`` clause, adding a generic one for ``error``'s kind when it has none."""
    message = one_line(message) or (type(error).__name__ if error is not None else "failed")
    if "Fix:" in message or "fix:" in message:
        return message
    for kind, fix in _DEFAULT_FIXES:
        if error is not None and isinstance(error, kind):
            return f"{sentence(message)} Fix: {fix}."
    return f"{sentence(message)} Fix: see the message above; add --debug for the traceback."


def describe(error: BaseException) -> str:
    """The readable text of ``error``: the library's message, or an OS error's reason and path."""
    if isinstance(error, OSError) and error.strerror and error.filename is not None:
        return f"{error.strerror}: {error.filename}"  # not "[Errno 2] ...: 'x'"
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    return str(error)


def is_expected(error: BaseException) -> bool:
    """True for errors that refuse the input (exit 1); anything else is a bug (exit 3).

    A KeyError or IndexError is a bug unless its message names a fix, as
    the library's refusals do (e.g. an unknown feature name).
    """
    if isinstance(error, (KeyError, IndexError)):
        return "Fix:" in describe(error)
    if isinstance(error, EXPECTED_ERRORS):
        return True
    try:  # a store held by another process is a RuntimeError
        from pytyche_core.store.errors import StoreLockedError
    except ImportError:
        return False
    return isinstance(error, StoreLockedError)


__all__ = ["EXIT_FAILURE", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "CliFailure",
           "CliUsageError", "describe", "is_expected", "one_line", "sentence", "with_fix"]
