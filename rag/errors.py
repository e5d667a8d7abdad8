"""The few exception types the library raises; no logic."""


class RagError(Exception):
    """Base class: every error a user can act on. The message names the input and the remedy."""

    exit_code = 1


class LoadError(RagError):
    """A source file could not be read or yielded no text."""

    exit_code = 3


class IndexStateError(RagError):
    """The on-disk index is missing, broken, or built with other settings."""

    exit_code = 4
