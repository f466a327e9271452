"""Errors the store raises; each message says what was wrong and where."""


class StateError(Exception):
    """Bad input or unusable state. The message names the path or file involved."""


class PathError(StateError):
    """A dotted path that does not address anything the document can hold."""


class CorruptStateError(StateError):
    """State on disk could not be read; it was moved aside, never silently reset."""


class BusyError(StateError):
    """The store stayed locked by another writer past the timeout."""


def disk_trouble(directory: object) -> str:
    """Why files in `directory` cannot be written, when the disk says so: a read-only mount or no
    space left ("" when neither; the caller's own message stands then)."""
    import os

    try:
        disk = os.statvfs(str(directory))
    except OSError:
        return ""
    if disk.f_flag & os.ST_RDONLY:
        return "the disk is mounted read-only"
    if disk.f_bavail == 0:
        return "the disk is full"
    return ""


def unmovable(path: object) -> str:
    """Why a damaged store file at `path` cannot be moved aside (renamed in its directory): a read-only
    mount, or a directory this user may not write ("" when it can be)."""
    import os
    from pathlib import Path

    directory = Path(str(path)).parent
    if disk_trouble(directory) == "the disk is mounted read-only":
        return "the disk is mounted read-only"
    if not os.access(directory, os.W_OK):
        return f"its directory {directory} is not writable for this user"
    return ""


def left_damaged(where: str, why: str) -> StateError:
    """The error for a damaged store left where it is: `where` names it and what is wrong, `why` why it stays."""
    return StateError(f"{where}; it cannot be moved aside ({why}), so it is left as it is: restore it from a backup, "
                      "or with `orchestra state import` where it can be written")
