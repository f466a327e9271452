"""Installing the pack into other repositories, taking it out again, and checking an installed repo.

Every command computes a `Plan` (data: file writes, moves and deletes with their bytes before and
after), which `--dry-run` shows as a unified diff and `apply` carries out; nothing is written while
planning, so a refusal leaves the target untouched. Entry points: `plan_install`, `plan_uninstall`,
`apply`, `doctor.run_checks`, `plugin.build`.
"""

from .apply import apply
from .errors import InstallError
from .install import plan_install
from .plan import Notice, Plan, Step
from .uninstall import plan_uninstall

__all__ = ["InstallError", "Notice", "Plan", "Step", "apply", "plan_install", "plan_uninstall"]
