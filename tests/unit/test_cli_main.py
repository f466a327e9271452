"""`orchestra` itself: what it says about the version it is, before any command."""

from __future__ import annotations

import pytest
from orchestra import __version__
from orchestra.cli import main


def test_version_names_the_pack_version_that_doctor_and_install_report(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out == f"orchestra {__version__}\n"


def test_an_argument_that_is_not_utf8_prints_on_a_strict_utf8_terminal(tmp_path):
    """Python reads a byte of the command line that is not UTF-8 as a lone surrogate; on a terminal whose
    locale is en_US.UTF-8 (not C.UTF-8) stdout refuses to encode one, and echoing it back failed with
    "'utf-8' codec can't encode character". It prints as U+FFFD, as broken text does elsewhere."""
    import os
    import subprocess
    import sys

    (tmp_path / ".claude").mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_", "ORCHESTRA_"))}
    env |= {"PYTHONIOENCODING": "utf-8", "PYTHONUTF8": "0", "LC_ALL": "C.UTF-8"}  # stdout strict, as en_US.UTF-8
    argv = [sys.executable, "-c", "from orchestra.cli import run; run()", "audit", "tail", "--agent"]
    proc = subprocess.run([os.fsencode(a) for a in argv] + [b"caf\xe9"], capture_output=True, cwd=tmp_path,
                          env=env, timeout=60)
    assert (proc.returncode, proc.stderr) == (0, b"")
    assert proc.stdout.decode() == "the audit log has no lines yet (each hook run writes one)\n"
    (tmp_path / ".claude/state").mkdir()
    (tmp_path / ".claude/state/audit.jsonl").write_text('{"hook": "pre_tool", "agent_id": "main"}\n')
    proc = subprocess.run([os.fsencode(a) for a in argv] + [b"caf\xe9"], capture_output=True, cwd=tmp_path,
                          env=env, timeout=60)
    assert (proc.returncode, proc.stderr) == (0, b""), proc.stderr
    assert proc.stdout.decode() == "none of the last 1 audit lines matches --agent caf\ufffd\n"


@pytest.mark.parametrize(("argv", "command"), [(["agents", "-n", "5"], "orchestra agents"),
                                               (["task", "list", "--limit", "5"], "orchestra task list"),
                                               (["plugin", "build", "--dry-run"], "orchestra plugin build")])
def test_an_unknown_option_is_refused_with_the_usage_of_the_command_it_was_given_to(argv, command, capsys):
    with pytest.raises(SystemExit) as done:
        main(argv)
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert err.startswith(f"usage: {command} [-h]"), err
    assert err.endswith(f"\n{command}: error: unrecognized arguments: {' '.join(argv[-2:] if argv[-1] == '5' else argv[-1:])}\n")


def test_ctrl_c_while_the_commands_load_exits_130_without_a_traceback(monkeypatch, capsys):
    import orchestra.cli as cli

    def interrupted(command=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "build_parser", interrupted)
    assert main(["task", "list"]) == 130
    assert capsys.readouterr() == ("", "")
