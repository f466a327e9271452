"""A sandbox for driving the real `claude` CLI: a temp git repo (with or without the pack), an isolated
HOME, config dir and temp dir, folder trust pre-seeded, and one `-p` run parsed from stream-json.

Claude Code talks only to the fake Messages API in `fake_api.py`; hooks run through uv exactly as in
a user's repo. Results are read where the product keeps them: the state store and the audit log.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from tests.e2e.fake_api import MAIN, FakeAPI, agent_marker
from tests.machine import UV_NETWORK_ENV

REPO = Path(__file__).resolve().parents[2]
PACK = REPO / ".claude"
CLI_ENV = "ORCHESTRA_CLAUDE_BIN"
LOCAL_CLI = REPO / ".cache" / "claude-code" / "node_modules" / ".bin" / "claude"
MODEL = "claude-sonnet-4-5"
RUN_TIMEOUT = 60  # seconds; the budget for one scenario
# Environment passed through from the test process; everything else is left behind on purpose
# (a developer's ANTHROPIC_*, CLAUDE_*, VIRTUAL_ENV or ORCHESTRA_* must not leak into a sandbox).
_PASS_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "USER", "LOGNAME", "SHELL", "PYENV_ROOT",
             "PYENV_VERSION", "SYSTEMROOT", "TMPDIR",
             # how this machine reaches a package index, for the one online `uv sync` of a cold cache
             *(key for key in UV_NETWORK_ENV if key not in ("UV_CACHE_DIR", "UV_PYTHON_INSTALL_DIR", "UV_OFFLINE")))


def pinned_version() -> str:
    """The Claude Code version CI installs (`CLAUDE_VERSION=` in .ci/run): the one these tests target."""
    match = re.search(r"^CLAUDE_VERSION=(\S+)", (REPO / ".ci" / "run").read_text(encoding="utf-8"), re.M)
    if not match:
        raise RuntimeError(".ci/run: no CLAUDE_VERSION= line; it pins the CLI the e2e tests target")
    return match.group(1)


def find_claude() -> Path | None:
    """`$ORCHESTRA_CLAUDE_BIN`, else the copy `.ci/run` installs under .cache/; None when neither exists."""
    for candidate in (os.environ.get(CLI_ENV), LOCAL_CLI):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def cli_version(binary: Path) -> str:
    out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=60)
    return out.stdout.split()[0] if out.returncode == 0 and out.stdout.split() else ""


@lru_cache(maxsize=1)
def _uv() -> tuple[str, dict[str, str]]:
    """The real uv binary (not a shim that depends on HOME) and the cache/python dirs it uses now."""
    uv = os.environ.get("UV") or shutil.which("uv")
    if not uv:
        raise RuntimeError("uv not found on PATH; the pack's hooks run through `uv run --script`")
    dirs = {}
    for key, args in (("UV_CACHE_DIR", ["cache", "dir"]), ("UV_PYTHON_INSTALL_DIR", ["python", "dir"])):
        out = subprocess.run([uv, *args], capture_output=True, text=True, timeout=30)
        if out.returncode == 0 and out.stdout.strip():
            dirs[key] = out.stdout.strip()
    return uv, dirs


# -- one run of the CLI -----------------------------------------------------------------------------

@dataclass
class Run:
    """A finished `claude -p` process and its parsed stream-json output."""

    returncode: int
    messages: list[dict[str, Any]]
    stderr: str
    seconds: float

    @property
    def results(self) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == "result"]

    @property
    def init(self) -> dict[str, Any]:
        return next((m for m in self.messages if m.get("type") == "system" and m.get("subtype") == "init"), {})

    def subagents(self) -> list[dict[str, Any]]:
        """Subagents Claude Code started (`system/task_started`): agent id, type, prompt, depth."""
        return [{"agent_id": m.get("task_id"), "agent_type": m.get("subagent_type"), "prompt": m.get("prompt"),
                 "tool_use_id": m.get("tool_use_id"), "depth": m.get("spawn_depth"),
                 "background": m.get("is_backgrounded")}
                for m in self.messages if m.get("type") == "system" and m.get("subtype") == "task_started"
                and m.get("task_type", "local_agent") == "local_agent"]

    def hook_responses(self, event: str | None = None) -> list[dict[str, Any]]:
        """`system/hook_response` messages (one per handler run), optionally for one hook event."""
        return [m for m in self.messages if m.get("type") == "system" and m.get("subtype") == "hook_response"
                and (event is None or m.get("hook_event") == event)]

    def describe(self) -> str:
        """A short account for assertion messages: exit code, results, failed hooks, stderr tail."""
        failed = [f"{m.get('hook_name')}: exit {m.get('exit_code')} {str(m.get('stderr', ''))[:300]}"
                  for m in self.hook_responses() if m.get("outcome") != "success"]
        warned = [f"{m.get('hook_name')}: {str(m.get('stdout'))[:300]}" for m in self.hook_responses()
                  if "systemMessage" in str(m.get("stdout", ""))]
        results = [f"{r.get('subtype')}: {str(r.get('result', ''))[:200]}" for r in self.results]
        return (f"exit {self.returncode} after {self.seconds:.1f}s; results {results}; failed hooks {failed}; "
                f"hook messages {warned}; stderr: {self.stderr[-1500:]}")


class RunTimeout(AssertionError):
    pass


# -- the sandbox ------------------------------------------------------------------------------------

@dataclass
class Sandbox:
    """A throwaway project (path with a space) plus the isolated home Claude Code runs in."""

    base: Path
    claude: Path
    with_pack: bool = True
    repo: Path = field(init=False)
    home: Path = field(init=False)

    def __post_init__(self) -> None:
        self.repo = self.base / "work tree"
        self.home = self.base / "home"

    @property
    def config_dir(self) -> Path:
        return self.home / ".claude"

    @property
    def state_dir(self) -> Path:
        return self.repo / ".claude" / "state"

    # building it

    def create(self) -> Sandbox:
        """Build the sandbox from scratch, replacing one left at the same place by an earlier test.

        Reusing the place keeps the repo's path, so the uv environments of its hook scripts (keyed
        by script path) are built once per test session instead of once per test."""
        for old in (self.repo, self.home, self.base / "tmp"):
            if old.exists():
                shutil.rmtree(old)
        self.repo.mkdir(parents=True)
        (self.base / "tmp").mkdir()
        self.config_dir.mkdir(parents=True)
        (self.home / ".gitconfig").write_text(
            "[user]\n\tname = E2E\n\temail = e2e@example.invalid\n[init]\n\tdefaultBranch = main\n",
            encoding="utf-8")
        trust = {"hasCompletedOnboarding": True,
                 "projects": {str(self.repo): {"hasTrustDialogAccepted": True}}}
        (self.config_dir / ".claude.json").write_text(json.dumps(trust), encoding="utf-8")
        self.git("init", "-q", "-b", "main")
        (self.repo / "README.md").write_text("# sandbox project\n", encoding="utf-8")
        if self.with_pack:
            self.install_pack()
            self.mark_agents()
        self.commit("initial")
        return self

    def install_pack(self) -> None:
        """The real installer when it exists; until then the documented copy route plus wiring."""
        installer = PACK / "orchestra" / "src" / "orchestra" / "cli" / "install.py"
        if installer.exists():
            # The installer also warms the hooks' uv environments, as it does for users.
            out = subprocess.run([sys.executable, "-c", "from orchestra.cli import run; run()", "install",
                                  str(self.repo)], capture_output=True, text=True, env=self.env(), timeout=300)
            if out.returncode != 0:
                raise RuntimeError(f"orchestra install failed ({out.returncode}): {out.stderr[-2000:]}")
            if "environment not built" in out.stdout:
                self.warm_hooks()  # runs offline, like the hooks: a cold uv cache is filled once, online
        else:
            shutil.copytree(PACK, self.repo / ".claude", ignore=shutil.ignore_patterns(
                "state", "settings.local.json", "__pycache__", "*.pyc"))
            if (REPO / ".mcp.json").exists():
                shutil.copy2(REPO / ".mcp.json", self.repo / ".mcp.json")
            from orchestra import wiring

            wiring.write_project_settings(self.repo / ".claude" / "settings.json")
            self.warm_hooks()

    def warm_hooks(self, scripts: list[Path] | None = None) -> None:
        """Build each hook's uv environment now (the sandbox's hooks, or `scripts`), so the first hook
        call in a run is not a cold start."""
        uv, _ = _uv()

        def warm(script: Path) -> None:
            cmd = [uv, "sync", "--quiet", "--script", str(script)]
            env = self.env()
            if subprocess.run(cmd, env=env, capture_output=True, timeout=300).returncode != 0:
                env.pop("UV_OFFLINE")  # a package missing from the cache: fetch it once
                out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
                if out.returncode != 0:
                    raise RuntimeError(f"uv could not prepare {script.name}: {out.stderr[-1500:]}")

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(warm, scripts or sorted((self.repo / ".claude" / "orchestra" / "hooks").glob("*.py"))))

    def agent_files(self) -> dict[str, Path]:
        """Agent name (frontmatter `name`) -> file, for every agent file in the sandbox's .claude/agents."""
        found = {}
        for path in sorted((self.repo / ".claude" / "agents").rglob("*.md")):
            match = re.search(r"^name:\s*['\"]?([\w.-]+)", path.read_text(encoding="utf-8"), re.M)
            if match:
                found[match.group(1)] = path
        return found

    def mark_agents(self) -> None:
        """Append each agent's marker line to its body so the fake API can tell its requests apart."""
        for name, path in self.agent_files().items():
            text = path.read_text(encoding="utf-8")
            if agent_marker(name) not in text:
                path.write_text(text.rstrip("\n") + f"\n\n{agent_marker(name)}\n", encoding="utf-8")

    def ensure_agent(self, name: str, tools: str, description: str | None = None) -> Path:
        """Use the pack's agent `name` when it ships one; otherwise write a minimal one for the test."""
        existing = self.agent_files().get(name)
        if existing is not None:
            return existing
        path = self.repo / ".claude" / "agents" / "e2e" / f"{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            f"---\nname: {name}\ndescription: {description or f'Use for {name} work in end-to-end tests.'}\n"
            f"tools: {tools}\nmodel: sonnet\n---\n\nYou are {name}. Do the delegated task and end with the "
            f"completion protocol.\n\n{agent_marker(name)}\n", encoding="utf-8")
        return path

    def add_tools(self, name: str, *tools: str) -> None:
        """Widen agent `name`'s frontmatter `tools` list, to test what the pack does beyond it."""
        path = self.agent_files()[name]
        text = path.read_text(encoding="utf-8")
        text, count = re.subn(r"^tools:[ \t]*(.*)$", lambda m: f"tools: {', '.join([m.group(1), *tools])}",
                              text, count=1, flags=re.M)
        if count != 1:
            raise ValueError(f"{path}: no one-line `tools:` entry to extend")
        path.write_text(text, encoding="utf-8")

    def edit_teams(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Apply `change` to the sandbox's parsed teams.yaml and write it back (comments are not kept)."""
        import yaml

        path = self.repo / ".claude" / "teams.yaml"
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(doc)
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")

    def git(self, *args: str) -> str:
        out = subprocess.run(["git", *args], cwd=self.repo, env=self.env(), capture_output=True,
                             text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout

    def commit(self, message: str) -> None:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)

    # running Claude Code

    def env(self, api: FakeAPI | None = None) -> dict[str, str]:
        uv, uv_dirs = _uv()
        env = {k: os.environ[k] for k in _PASS_ENV if k in os.environ}
        env["PATH"] = os.pathsep.join([str(Path(uv).parent), env.get("PATH", os.defpath)])
        env.update(uv_dirs)
        env.update({
            "HOME": str(self.home),
            "CLAUDE_CONFIG_DIR": str(self.config_dir),
            "CLAUDE_CODE_TMPDIR": str(self.base / "tmp"),
            "ANTHROPIC_API_KEY": "sk-ant-dummy",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            "DISABLE_TELEMETRY": "1",
            "DISABLE_ERROR_REPORTING": "1",
            "ENABLE_TOOL_SEARCH": "false",
            "UV_OFFLINE": "1",  # hooks resolve from the warmed cache; nothing in a run touches the network
            "UV_NO_PROGRESS": "1",
        })
        if api is not None:
            env["ANTHROPIC_BASE_URL"] = api.base_url
        return env

    def run(self, api: FakeAPI, prompt: str, allowed_tools: str = "Bash Read Write Edit Agent",
            extra_args: tuple[str, ...] = (), timeout: float = RUN_TIMEOUT,
            extra_env: dict[str, str] | None = None) -> Run:
        """`claude -p "<MAIN marker> prompt"` in the repo; waits for exit (several results may come first)."""
        cmd = [str(self.claude), "-p", f"{MAIN} {prompt}", "--output-format", "stream-json", "--verbose",
               "--include-hook-events", "--model", MODEL, "--allowedTools", allowed_tools, *extra_args]
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=self.repo, env={**self.env(api), **(extra_env or {})}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            run = Run(-9, _parse_stream(out), err.decode(errors="replace"), time.monotonic() - started)
            raise RunTimeout(f"claude -p did not exit within {timeout}s: {run.describe()}") from None
        return Run(proc.returncode, _parse_stream(out), err.decode(errors="replace"),
                   time.monotonic() - started)

    # reading what the product recorded

    def _store(self):
        from orchestra.store import open_store

        return open_store(url=f"sqlite:///{self.state_dir / 'orchestration.db'}")

    @contextmanager
    def state(self) -> Iterator[Any]:
        """A read snapshot of the sandbox's state store (a Tx: get, items, find, events_after)."""
        with self._store() as store, store.snapshot() as tx:
            yield tx

    def seed(self, values: dict[str, Any]) -> None:
        """Set dotted paths in the sandbox's store before a run (tasks, sprints, agent runs...)."""
        from orchestra import paths

        paths.ensure_state_dir(self.repo)
        with self._store() as store, store.transaction() as tx:
            for path, value in values.items():
                tx.set(path, value)

    def audit(self) -> list[dict[str, Any]]:
        path = self.state_dir / "audit.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def verify_audit(self) -> tuple[int, str | None]:
        from orchestra import audit

        return audit.verify(self.state_dir / "audit.jsonl")

    def cleanup(self) -> None:
        """Drop the uv script environments built for this sandbox's hooks (they live in the shared cache)."""
        cache = _uv()[1].get("UV_CACHE_DIR")
        if not cache:
            return
        marker = str(self.repo)
        for pth in Path(cache).glob("environments-v2/*/lib/python*/site-packages/*.pth"):
            try:
                if marker in pth.read_text(encoding="utf-8", errors="replace"):
                    shutil.rmtree(pth.parents[3], ignore_errors=True)
            except OSError:
                continue


def _parse_stream(out: bytes) -> list[dict[str, Any]]:
    messages = []
    for line in out.decode(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                messages.append(json.loads(line))
            except ValueError:
                continue
    return messages
