"""The package version, in a module of its own so that the build can record it without importing ``rag``."""

__version__ = "0.1.0"
