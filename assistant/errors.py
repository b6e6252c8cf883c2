"""Which exceptions are the user's to fix, and the one line that tells them how.

A room raises a subclass of UserError for a mistake the user can mend (a damaged model file,
an unreadable photo, a folder that cannot be used); user_message turns it, and the OS's own
errors about files, into one line. Anything else is a bug: log its traceback."""
from __future__ import annotations


class UserError(Exception):
    """An error whose message tells the user what to do.

    Raised with message_id (and its fields), it also names its sentence in the catalogue, so
    an interface shows it in its own language (assistant.catalog.error_text); str() stays
    English, for logs and the command line."""

    def __init__(self, *args: object, message_id: str | None = None, **fields: object) -> None:
        super().__init__(*args)
        self.message_id = message_id
        self.fields = fields


class DataError(UserError, ValueError):
    """A data folder or split that cannot be used; the message names the problem."""


def user_message(exc: BaseException) -> str | None:
    """A one-line message for errors the user can act on; None for bugs (log the traceback)."""
    expected = (UserError, FileNotFoundError, NotADirectoryError, PermissionError, ValueError)
    if isinstance(exc, expected):
        text = str(exc)
        if isinstance(exc, OSError) and exc.filename and exc.strerror:
            text = f"{exc.filename}: {exc.strerror}"
        return " ".join(text.split())
    if isinstance(exc, OSError):
        return f"{exc.filename or ''} {exc.strerror or exc}".strip()
    return None
