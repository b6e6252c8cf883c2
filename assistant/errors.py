"""Which exceptions are the user's to fix, and the one line that tells them how."""
from __future__ import annotations


def user_message(exc: BaseException) -> str | None:
    """A one-line message for errors the user can act on; None for bugs (log the traceback)."""
    from assistant.architectures import PretrainedError
    from assistant.checkpoint import CheckpointError
    from assistant.vision import ImageError

    expected: tuple[type[BaseException], ...] = (CheckpointError, ImageError, PretrainedError,
                                                 FileNotFoundError, NotADirectoryError,
                                                 PermissionError, ValueError)
    try:
        from model.data import DataError
        expected += (DataError,)
    except ImportError:
        pass
    if isinstance(exc, expected):
        text = str(exc)
        if isinstance(exc, OSError) and exc.filename and exc.strerror:
            text = f"{exc.filename}: {exc.strerror}"
        return " ".join(text.split())
    if isinstance(exc, OSError):
        return f"{exc.filename or ''} {exc.strerror or exc}".strip()
    return None
