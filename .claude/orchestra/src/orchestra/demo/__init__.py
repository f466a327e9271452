"""`orchestra demo`: a throwaway repo with the pack installed, sprint-3 loaded, and a realistic
sequence of Claude Code hook events replayed through the real hook scripts.

The story: the main thread hands sprint-3 to the engineering director; the director tries to start
2FA before OAuth (the dependency gate refuses), delegates OAuth to a fullstack engineer, who claims
completion before the acceptance check passes (pushed back once), finishes, the tech lead approves
the work (engineering requires review), and then 2FA is delegated and blocks on a missing secret.
The sprint's status is printed at the end; its forecast learns the team's pace from work done before
the sprint (`history`), as the replay itself takes seconds.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..metrics.formatting import duration
from .history import record_earlier_work
from .session import ClaudeSession, HookRun, project_env

Say = Callable[[str], None]
# The repository's `.claude/sprints/sprint-3.yaml`, shipped inside the package so the demo runs from any install.
SAMPLE_SPRINT = Path(__file__).with_name("sprint-3.yaml")

OAUTH_CODE = '''"""OAuth2 authorization-code login with PKCE."""

import base64
import hashlib
import secrets


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge
'''
OAUTH_TEST = '''import unittest

from src.auth.oauth import pkce_pair


class PkceTest(unittest.TestCase):
    def test_challenge_is_url_safe(self):
        verifier, challenge = pkce_pair()
        self.assertNotEqual(verifier, challenge)
        self.assertNotIn("=", challenge)
'''


@dataclass
class DemoResult:
    root: Path
    status: str


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def _cli(root: Path, *args: str) -> str:
    proc = subprocess.run([str(root / ".claude/orchestra/bin/orchestra"), *args], cwd=root,
                          capture_output=True, text=True, timeout=300, env=project_env(root))
    if proc.returncode != 0:
        raise RuntimeError(f"orchestra {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def _verdicts(runs: list[HookRun], ok: str = "allowed") -> str:
    for run in runs:
        if run.decision == "block":
            return f"pushed back: {run.reason}"
        if run.decision == "deny" or run.code == 2:
            return f"denied: {run.reason}"
    return ok


def _repo(target: Path | None) -> Path:
    root = Path(target).resolve() if target else Path(tempfile.mkdtemp(prefix="orchestra-demo-")) / "acme-shop"
    root.mkdir(parents=True, exist_ok=True)
    if not (root / ".git").exists():
        subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    fresh = not _has_commits(root)  # new, or a `git init` with nothing in it yet
    (root / "tests" / "auth").mkdir(parents=True, exist_ok=True)
    for package in ("src", "src/auth", "tests", "tests/auth"):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").touch()
    if fresh:  # the skeleton is committed, so the task worktrees the sprint start makes have it too
        _git(root, "add", "src", "tests")
        _git(root, "-c", "user.name=Demo", "-c", "user.email=demo@example.invalid", "commit", "-q",
             "--allow-empty", "-m", "Initial commit")
    return root


def _has_commits(root: Path) -> bool:
    return subprocess.run(["git", "-C", str(root), "rev-parse", "--verify", "-q", "HEAD"],
                          capture_output=True).returncode == 0


def _refuse(target: Path | None) -> None:
    """The demo makes its own repository: say why it cannot before it writes anything."""
    missing = [tool for tool in ("git", "uv") if shutil.which(tool) is None]
    if missing:
        raise ValueError(f"{' and '.join(missing)} not found on PATH: the demo makes a git repository with task "
                         "worktrees and runs the pack's hooks with uv; install it and run the demo again")
    if target is None or not Path(target).exists():
        return
    where = Path(target).resolve()
    if (where / ".claude/state/orchestration.db").exists():  # its story starts from a sprint never started
        raise ValueError(f"{where}: holds Orchestra state already (orchestration.db); the demo runs "
                         "once per directory: give a new one, or none for a temp repo")
    if not where.is_dir():
        raise ValueError(f"{where}: a file, not a directory; the demo makes its own repository in a directory: "
                         "give a new or empty directory, or none for a temp repo")
    inside = [path.name for path in where.iterdir()]
    if inside and not (inside == [".git"] and not _has_commits(where)):  # a project of yours would get the
        # pack, a branch and a worktree per task
        raise ValueError(f"{where}: not an empty directory; the demo makes its own repository there (git init, "
                         "the pack installed, a branch and worktree per task): give a new or empty directory "
                         "(a `git init` with no commit yet will do), or none for a temp repo")


def run_demo(target: Path | None = None, say: Say = print) -> DemoResult:
    from ..cli import main as orchestra_main

    _refuse(target)
    root = _repo(target)
    say(f"Demo repository: {root}")
    if orchestra_main(["install", str(root)]) != 0:
        raise RuntimeError("installing the pack failed")
    sprint_file = root / ".claude/sprints/sprint-3.yaml"
    if not sprint_file.exists():  # the installer brings the pack, not the repository's own sprints
        sprint_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLE_SPRINT, sprint_file)
    say("\n== Sprint ==")
    say(_cli(root, "sprint", "load", str(sprint_file)).strip())
    say(_cli(root, "sprint", "start", "sprint-3").strip())
    earlier = record_earlier_work(root)
    say("\nEarlier work of the engineering team, done before this sprint (the forecast learns its pace from it): "
        + ", ".join(f"{t.id} ({t.estimate:g} {'pt' if t.estimate == 1 else 'pts'}, {duration(t.hours)})" for t in earlier))

    claude = ClaudeSession(root, root / ".demo-claude-config")
    say("\n== A Claude Code session, replayed through the real hooks ==")
    claude.session_start()
    claude.user_prompt("Run sprint-3 with the engineering team.")
    runs, director = claude.delegate(None, "engineering-director", "Run sprint-3",
                                     "[task:sprint-3] Orchestrate sprint-3: run its batches.", background=True)
    say(f"main -> engineering-director (background): {_verdicts(runs)}")
    assert director is not None, "the director's delegation was refused"

    runs, early = claude.delegate(director, "fullstack-eng", "task-2fa TOTP",
                                  "[task:task-2fa] Add TOTP two-factor authentication.", background=False)
    say(f"director -> fullstack-eng on task-2fa before task-oauth: {_verdicts(runs)}")

    runs, oauth = claude.delegate(director, "fullstack-eng", "task-oauth login",
                                  "[task:task-oauth] Implement OAuth2 login.", background=False)
    say(f"director -> fullstack-eng on task-oauth: {_verdicts(runs)}")
    assert oauth is not None and early is None
    claude.tool_call(oauth, "Bash", {"command": "ls src", "description": "Look around"},
                     {"stdout": "auth", "stderr": "", "interrupted": False, "isImage": False})
    runs = claude.finish(oauth, "OAuth2 login is done.\nSTATUS: completed", background=False)
    say(f"fullstack-eng claims task-oauth completed, having changed nothing: {_verdicts(runs, 'accepted')}")
    worktree = Path(json.loads(_cli(root, "task", "show", "task-oauth", "--json"))["task"]["worktree"])
    say(f"fullstack-eng works in its task's worktree: {worktree.relative_to(root)}")
    claude.tool_call(oauth, "Write", {"file_path": str(worktree / "src/auth/oauth.py"), "content": OAUTH_CODE})
    claude.tool_call(oauth, "Write", {"file_path": str(worktree / "tests/auth/test_oauth.py"), "content": OAUTH_TEST})
    runs = claude.finish(oauth, "Added PKCE login code and its test; the acceptance check passes.\n"
                                "STATUS: completed\nARTIFACTS: src/auth/oauth.py, tests/auth/test_oauth.py",
                         background=False, pushed_back=True)
    say(f"fullstack-eng reports task-oauth completed with code and test: {_verdicts(runs, 'accepted')}")
    task = json.loads(_cli(root, "task", "show", "task-oauth", "--json"))["task"]
    say(f"engineering requires review, so task-oauth is {task['status']}: {task['review_reason']}")
    _cli(root, "msg", "send", "fullstack-eng", "review_complete", "--payload", '{"verdict": "approved"}',
         "--reply-to", task["review_requests"][0], "--from", "tech-lead")
    task = json.loads(_cli(root, "task", "show", "task-oauth", "--json"))["task"]
    say(f"tech-lead approves task-oauth, which is now {task['status']}")

    runs, totp = claude.delegate(director, "fullstack-eng", "task-2fa TOTP",
                                 "[task:task-2fa] Add TOTP two-factor authentication.", background=False)
    say(f"director -> fullstack-eng on task-2fa after task-oauth: {_verdicts(runs)}")
    assert totp is not None
    claude.tool_call(totp, "Bash", {"command": "grep -rn TOTP_ENCRYPTION_KEY .env.example || true",
                                    "description": "Look for the TOTP key"},
                     {"stdout": "", "stderr": "", "interrupted": False, "isImage": False})
    runs = claude.finish(totp, "TOTP secrets must be encrypted at rest and no key is provisioned.\n"
                               "STATUS: blocked\nBLOCKER: TOTP_ENCRYPTION_KEY is not provisioned; devops must add it",
                         background=False)
    say(f"fullstack-eng reports task-2fa blocked: {_verdicts(runs, 'recorded')}")
    claude.finish(director, "Batch done: task-oauth completed, task-2fa blocked on a missing key.\nSTATUS: completed",
                  background=True)
    claude.stop()
    claude.end()

    say("\n== Sprint status ==")
    status = _cli(root, "sprint", "status", "sprint-3")
    say(status.rstrip())
    say("\n== Agent runs ==")
    say(_cli(root, "agents", "--all").rstrip())
    say("\n== Sprint report ==")
    say(_cli(root, "report", "--sprint", "sprint-3").rstrip())
    made = root if target else root.parent  # a temp repo sits in a temp directory of its own
    say(f"\nThe demo repository stays at {root} (the pack, its state, branches and worktrees): look around "
        f"there with `.claude/orchestra/bin/orchestra dashboard`, or delete it with `rm -rf {shlex.quote(str(made))}`.")
    return DemoResult(root, status)


