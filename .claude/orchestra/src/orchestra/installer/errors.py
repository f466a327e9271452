"""The installer's one error type: a refusal that names what is wrong, where, and what to do."""


class InstallError(ValueError):
    """Install, uninstall, doctor or plugin build refused, with what is wrong, where, and what to do."""


class Interrupted(InstallError):
    """Ctrl-C while install or uninstall wrote: the steps already taken were undone (the message says if not)."""
