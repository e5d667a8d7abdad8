"""The few exception types the library raises; no logic."""

from .prompts import UNREADABLE_FILE


class RagError(Exception):
    """Base class: every error a user can act on. The message names the input and the remedy."""

    exit_code = 1


class LoadError(RagError):
    """A source file could not be read or yielded no text.

    The message (English, for the command line and the log) names the file and the remedy; ``zh`` says
    the same in Chinese for the staff page (a generic sentence when the raise site gave none).
    """

    exit_code = 3

    def __init__(self, message: str, zh: str | None = None):
        super().__init__(message)
        self.zh = zh or UNREADABLE_FILE


class IndexStateError(RagError):
    """The on-disk index is missing, broken, or built with other settings."""

    exit_code = 4


class UploadRefused(RagError):
    """A document operation the service refuses (too big, wrong type, same name, unknown file); the
    message is Chinese, for the page and the API body; ``status`` is the HTTP status that fits."""

    def __init__(self, message: str, status: int = 400, code: str = "refused"):
        super().__init__(message)
        self.status = status
        self.code = code
