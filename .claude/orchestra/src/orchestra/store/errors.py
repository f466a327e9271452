"""Errors the store raises; each message says what was wrong and where."""


class StateError(Exception):
    """Bad input or unusable state. The message names the path or file involved."""


class PathError(StateError):
    """A dotted path that does not address anything the document can hold."""


class CorruptStateError(StateError):
    """State on disk could not be read; it was moved aside, never silently reset."""


class BusyError(StateError):
    """The store stayed locked by another writer past the timeout."""
