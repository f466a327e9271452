"""The Bash reader: commands, words, redirections and nesting it must follow."""

from __future__ import annotations

import pytest
from orchestra.security.shell import parse, script_index, split_operators, substitutions, tokens


def argvs(text: str) -> list[tuple[str, ...]]:
    return [c.argv for c in parse(text).commands if c.argv]


def test_sequences_pipes_and_subshells_split_into_commands() -> None:
    assert argvs("a 1; b 2 && c || d | e & f\ng") == [("a", "1"), ("b", "2"), ("c",), ("d",), ("e",), ("f",), ("g",)]
    assert argvs("(cd x; ls);echo ok") == [("cd", "x"), ("ls",), ("echo", "ok")]
    script = parse("a | b; c")
    assert [c.pipeline for c in script.commands][0] == script.commands[1].pipeline != script.commands[2].pipeline


def test_quotes_are_removed_and_hash_inside_a_word_is_kept() -> None:
    assert argvs('cat .e""nv \'x y\' a#b') == [("cat", ".env", "x y", "a#b")]


def test_redirections_name_written_files_not_descriptors() -> None:
    (cmd,) = parse("echo x > out 2>&1 >> log &> both >| clobber").commands
    assert cmd.writes == ("out", "log", "both", "clobber")
    assert parse("cat < in").commands[0].argv == ("cat", "in")


def test_a_read_file_is_an_operand_wherever_it_stands() -> None:
    assert parse("< in cat").commands[0].argv == ("cat", "in")
    assert parse("grep < in x").commands[0].argv == ("grep", "x", "in")
    loop = parse("while read l; do echo $l; done < in").commands[-1]
    assert loop.argv == () and "in" in loop.words and loop.reads == ("in",)


def test_a_heredoc_body_is_fed_to_its_command() -> None:
    (cmd, *_) = parse("python3 - <<'EOF' > out\nopen('x')\nEOF\necho done").commands
    assert cmd.argv == ("python3", "-", "EOF") and cmd.writes == ("out",) and "x" in cmd.words
    assert parse("echo done").commands[0].words == ("echo", "done")


def test_a_heredoc_only_written_out_is_text_and_a_shell_reads_its_body_as_commands() -> None:
    (cat,) = parse("cat >> notes <<'EOF'\nrm x\nEOF").commands
    assert cat.argv == ("cat", "EOF") and "x" not in cat.words
    assert ("rm", "x") in argvs("bash <<'EOF'\nrm x\nEOF") and ("rm", "x") in argvs("cat <<'EOF' | sh\nrm x\nEOF")
    assert "x" in parse("cat <<'EOF' | xargs cat\nx\nEOF").commands[0].words


def test_wrappers_are_removed_from_argv_but_kept_in_words() -> None:
    (cmd,) = parse("sudo -u root env -i A=1 nice -n 5 timeout 10 stdbuf -oL cat f").commands
    assert cmd.argv == ("cat", "f") and cmd.wrappers == ("sudo", "env", "nice", "timeout", "stdbuf")
    assert "sudo" in cmd.words and "A=1" in cmd.words
    xargs = parse("find . | xargs -n 1 -I {} rm {}").commands[1]
    assert xargs.argv == ("rm", "{}") and xargs.wrappers == ("xargs",)


@pytest.mark.parametrize("text", ["sh -c 'rm x'", 'bash -lc "rm x"', "eval 'rm x'", "watch -n 1 rm x",
                                  "su -c 'rm x' root", 'echo "$(rm x)"', "echo `rm x`", "tee >(rm x)",
                                  "env bash -c 'rm x'", "xargs sh -c 'rm x'"])
def test_nested_command_strings_are_parsed(text: str) -> None:
    assert ("rm", "x") in argvs(text)


def test_variables_from_assignments_and_env_are_substituted() -> None:
    script = parse("F=.env; cat $F ${F}.bak $UNKNOWN", {"HOME": "/h"})
    assert script.commands[-1].argv == ("cat", ".env", ".env.bak", "$UNKNOWN")
    assert parse("cat $HOME/x", {"HOME": "/h"}).commands[0].argv == ("cat", "/h/x")
    assert parse("export A=1; echo $A").commands[-1].argv == ("echo", "1")


def test_ansi_c_strings_are_decoded() -> None:
    assert argvs("cat $'\\x2e\\x65nv' $'a\\tb'") == [("cat", ".env", "a\tb")]


def test_keywords_are_not_programs() -> None:
    assert argvs("if test -f x; then rm x; fi") == [("test", "-f", "x"), ("rm", "x")]
    assert argvs("for f in a b; do cat $f; done")[-1] == ("cat", "$f")


def test_unbalanced_quotes_mark_the_script_incomplete_but_keep_words() -> None:
    script = parse("cat 'secret file")
    assert not script.complete and "secret" in script.commands[0].words


def test_nesting_depth_is_bounded() -> None:
    text = "x"
    for _ in range(12):
        text = f"sh -c {__import__('shlex').quote(text)}"
    assert not parse(text).complete


def test_operator_helpers() -> None:
    assert split_operators(");&&") == [")", ";", "&&"]
    assert tokens("a>b") == ["a", ">", "b"]
    assert substitutions("a $(b $(c)) `d` $((1+2)) <(e)") == ["b $(c)", "d", "e"]


def test_a_substitution_used_as_a_directory_stays_in_its_word() -> None:
    script = parse("rm -rf $(pwd)/.claude && cat `git rev-parse --show-toplevel`/x.md '$(a)/b' $(c) /d")
    assert [c.argv for c in script.commands] == [
        ("rm", "-rf", "${ORCHESTRA_SUBSTITUTION}/.claude"), ("cat", "${ORCHESTRA_SUBSTITUTION}/x.md", "$(a)/b", "$"),
        ("c",), ("/d",), ("pwd",), ("git", "rev-parse", "--show-toplevel"), ("a",), ("c",)]


def test_a_substitution_inside_a_word_keeps_the_word_whole_and_its_body_is_read() -> None:
    script = parse('cat .e$(true)nv x"`y`"z && git commit -m "$(cat <<\'EOF\'\nfix .env\nEOF\n)"')
    assert [c.argv for c in script.commands][:2] == [
        ("cat", ".e${ORCHESTRA_SUBSTITUTION}nv", "x${ORCHESTRA_SUBSTITUTION}z"),
        ("git", "commit", "-m", "$(cat <<'EOF'\nfix .env\nEOF\n)")]
    assert [c.argv for c in script.commands][2:] == [("true",), ("y",)]


@pytest.mark.parametrize(("text", "script"), [
    ("python3 -u -X dev bin/x arg", "bin/x"), ("bash -e -o pipefail x.sh", "x.sh"), ("sh -- x", "x"),
    ("uv run --with rich --script bin/x task", "bin/x"), ("uvx --from . orchestra", "orchestra"),
    ('"$PY" bin/x', "bin/x"), ("python3 -c 'print(1)' bin/x", None), ("python -m pytest x", None),
    ("uv sync", None), ("cat bin/x", None),
])
def test_the_script_an_interpreter_runs(text: str, script: str | None) -> None:
    (argv,) = argvs(text)
    index = script_index(argv)
    assert (None if index is None else argv[index]) == script
