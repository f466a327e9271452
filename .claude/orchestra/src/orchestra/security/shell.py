"""Best-effort reading of a Bash command line: which programs run, with which words, writing where.

Not a shell. It follows quoting (shlex), `;` `&&` `||` `|` `&` and newlines, `( )` subshells,
`$(...)`, backticks and `<(...)`/`>(...)` (also inside double quotes), `sh -c`/`bash -c`/`eval`/
`watch`/`su -c`/`runuser -c`/`script -c`/`flock`/`tmux new-session` strings, `xargs` and wrappers such
as `sudo`, `env`, `timeout`, `nice`, `$'...'` strings, output and input redirections (`< f cmd` too),
heredoc bodies (the words fed to their command, read as commands too unless `cat`/`tee` only writes
them out; a `$(cat <<'EOF' ... EOF)` that expands nothing is a string), here-strings and what `echo`/`printf`
pipe into a shell (read as commands), the command lines git runs itself (`git rebase -x`, `git submodule
foreach`, `git bisect run`, `git filter-branch --tree-filter`), simple `NAME=value` assignments and arrays
(`files=(a b)`: their elements are words), `${NAME:-word}` and its kin, `~+`/`~-`, a substitution inside a
word (kept in its word), and brace lists and globs in a program word
(`{cat,.env}`, `bin/orchestr[a]`); `script_index` finds the script file an interpreter runs. What it
cannot follow (computed strings, aliases, functions, scripts on disk) is listed in README's Security
section; callers treat an unparseable line as the worst case.
"""

from __future__ import annotations

import codecs
import itertools
import re
import shlex

from ..record import Record, default

MAX_DEPTH = 6
SUBSTITUTION = "ORCHESTRA_SUBSTITUTION"  # stands for a `$(...)` directory (`computed_directories`)
MAX_COMMANDS = 400

_OPERATORS = ("&>>", "<<<", ";;&", ">>", "<<", "&&", "||", ";;", "|&", ">&", "<&", "&>", ">|", "<>",
              ";", "&", "|", "(", ")", "<", ">", "\n")
_OPERATOR_SET = frozenset(_OPERATORS)
_CAT_HEREDOC = re.compile(r"\A\s*cat[ \t]*<<-?[ \t]*(['\"]?)(\w+)\1[ \t]*\n(.*)\Z", re.S)
_SEPARATORS = frozenset({";", "&", "&&", "||", ";;", ";;&", "(", ")", "\n"})
_PIPES = frozenset({"|", "|&"})
_WRITE_REDIRECTS = frozenset({">", ">>", ">|", "&>", "&>>", "<>"})
_READ_REDIRECTS = frozenset({"<", "<<", "<<<"})
_KEYWORDS = frozenset({"if", "then", "else", "elif", "fi", "do", "done", "while", "until", "for", "case",
                       "esac", "{", "}", "!", "function", "select", "in", "coproc"})
_COMPOUND = frozenset({"{", "}", "do", "done", "then", "else", "elif", "fi", "esac", "function", "coproc"})
_ASSIGNMENT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\+?=(.*)$", re.S)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_BRACE_LIST = re.compile(r"(?<!\$)\{([^{}]*,[^{}]*)\}")
MAX_BRACE_WORDS = 64
_OPERATOR_EXPANSION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-=+?])([^{}]*)\}")
_ANSI_C = re.compile(r"\$'((?:[^'\\]|\\.)*)'", re.S)
_NAME_BEFORE_QUOTE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)(?=['\"])")  # `.e$X'nv'`: the name ends at the quote
_WORD_ENDS = frozenset(";&|()<>")
_ARRAY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[^]]*\])?\+?=")  # `files=(` and `files+=(`: an array's elements
_GIT_RUNNERS = frozenset({"submodule", "rebase", "bisect", "filter-branch"})  # git commands that run a command line
_GIT_FILTERS = ("--tree-filter", "--index-filter", "--msg-filter", "--commit-filter", "--env-filter",
                "--parent-filter", "--tag-name-filter")
SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "busybox"})

# Wrappers that run the rest of their words as a command: name -> options that take a value.
_WRAPPERS: dict[str, frozenset[str]] = {
    "sudo": frozenset({"-u", "-g", "-C", "-p", "-U", "-r", "-t", "-h", "-D"}),
    "doas": frozenset({"-u", "-C"}),
    "env": frozenset({"-u", "-C", "--unset", "--chdir"}),
    "nice": frozenset({"-n", "--adjustment"}),
    "ionice": frozenset({"-c", "-n", "-p"}),
    "nohup": frozenset(), "time": frozenset(), "builtin": frozenset(), "setsid": frozenset(),
    "command": frozenset(), "unbuffer": frozenset(), "chronic": frozenset(), "caffeinate": frozenset(),
    "exec": frozenset({"-a"}),
    "stdbuf": frozenset({"-i", "-o", "-e"}),
    "timeout": frozenset({"-s", "-k", "--signal", "--kill-after"}),
    "xargs": frozenset({"-a", "-d", "-E", "-I", "-L", "-n", "-P", "-s", "--arg-file", "--delimiter",
                        "--eof", "--replace", "--max-lines", "--max-args", "--max-procs", "--max-chars"}),
    "watch": frozenset({"-n", "-d", "--interval"}),
}
_DURATION_FIRST = frozenset({"timeout"})
# Interpreters that run a script named as their first operand: options that take a value, and options
# after which no script follows (code or a module instead).
_PYTHON = (frozenset({"-W", "-X", "--check-hash-based-pycs"}), frozenset({"-c", "-m"}))
_SHELL = (frozenset({"-o", "+o", "-O", "+O", "--rcfile", "--init-file"}), frozenset({"-c"}))
_UV = (frozenset({"--with", "-w", "--with-editable", "--with-requirements", "--python", "-p", "--project",
                  "--directory", "--env-file", "--extra", "--group", "--only-group", "--no-group", "--package",
                  "--from", "--index", "--default-index", "--index-url", "-i", "--extra-index-url", "--find-links",
                  "-f", "--cache-dir", "--config-file", "--color", "--config-setting", "-C", "--exclude-newer",
                  "--index-strategy", "--keyring-provider", "--link-mode", "--prerelease", "--resolution",
                  "--python-platform", "--allow-insecure-host"}), frozenset({"-m", "--module"}))


class Command(Record):
    """One simple command. `argv` has wrappers removed; `words` keeps every word the line gave it."""

    argv: tuple[str, ...]
    words: tuple[str, ...]
    writes: tuple[str, ...] = ()
    pipeline: int = 0
    wrappers: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()  # files read through `<` (as written and expanded): never the program

    @property
    def program(self) -> str:
        return self.argv[0].rsplit("/", 1)[-1] if self.argv else ""


class Script(Record, frozen=False):
    commands: list[Command] = default(list)
    complete: bool = True  # False: quoting or nesting could not be followed; assume the worst


def parse(text: str, env: dict[str, str] | None = None) -> Script:
    """Every simple command in `text`, nested ones included, in order of appearance."""
    parser = _Parser(dict(env or {}))
    parser.script_of(text, 0)
    return parser.script


def split_operators(token: str) -> list[str]:
    """shlex glues adjacent punctuation (`);`, `>(`); split it into shell operators, longest first."""
    out, i = [], 0
    while i < len(token):
        op = next(o for o in (*_OPERATORS, token[i]) if token.startswith(o, i))
        out.append(op)
        i += len(op)
    return out


def tokens(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()<>\n")
    lexer.whitespace = " \t\r"
    lexer.commenters = ""  # shlex would end a line at `a#b`; bash would not: keep every word
    lexer.whitespace_split = True
    out: list[str] = []
    for token in lexer:
        if token and all(c in ";&|()<>\n" for c in token):
            out.extend(split_operators(token))
        else:
            out.append(token)
    return out


def computed_directories(text: str) -> str:
    """`text` with each `$(...)` or backtick substitution that is part of a longer word replaced by
    `${ORCHESTRA_SUBSTITUTION}`, so that the word stays one word, as bash reads it: a directory the reader cannot
    know when a `/` follows (`$(pwd)/.claude`, `` `git rev-parse --show-toplevel`/x ``), below which the rest of
    the word is a path, or a piece that may come out empty (`.e$(true)nv` is `.env`). A substitution standing
    alone, and a `cat` heredoc that is only text, stay as written. The bodies are read as commands from the
    original text (`substitutions`)."""
    if "$(" not in text and "`" not in text:
        return text
    out, i, quote = [], 0, ""
    while i < len(text):
        char = text[i]
        end = -1
        if quote != "'" and text.startswith("$(", i) and not text.startswith("$((", i):
            end, depth = i + 2, 1
            while end < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[end], 0)
                end += 1
        elif quote != "'" and char == "`" and (i == 0 or text[i - 1] != "\\"):
            end = text.find("`", i + 1) + 1 or len(text)
        if end > i and (text[end:end + 1] == "/" or _glued(text, i, end)):
            out.append("${" + SUBSTITUTION + "}")
            i = end
            continue
        if char in "'\"" and quote in ("", char):
            quote = "" if quote else char
        elif char == "\\" and quote != "'":
            out.append(text[i:i + 2])
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _glued(text: str, start: int, end: int) -> bool:
    """Is the substitution `text[start:end]` part of a longer word (text or a quote right before or after it),
    and not a `cat` heredoc that only holds text (Claude Code's commit message)?"""
    before, after = text[start - 1:start] if start else "", text[end:end + 1]
    if all(c == "" or c.isspace() or c in _WORD_ENDS for c in (before, after)):
        return False
    return not literal_heredoc(text[start + 2:end - 1] if text[start] == "$" else text[start + 1:end - 1])


def substitutions(text: str) -> list[str]:
    """Bodies of `$(...)`, `<(...)`, `>(...)` and backticks anywhere in the raw text (quotes too)."""
    found, i = [], 0
    while i < len(text):
        if text.startswith(("$(", "<(", ">("), i) and not text.startswith("$((", i):
            start = j = i + 2
            depth = 1
            while j < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
            found.append(text[start:j - 1] if depth == 0 else text[start:])
            i = j
        elif text[i] == "`" and (i == 0 or text[i - 1] != "\\"):
            j = i + 1
            while j < len(text) and not (text[j] == "`" and text[j - 1] != "\\"):
                j += 1
            found.append(text[i + 1:j])
            i = j + 1
        else:
            i += 1
    return found


def decode_ansi_c(text: str) -> str:
    """`$'\\x2eenv'` -> `'.env'`, so the quoted value is what gets checked."""
    def replace(match: re.Match[str]) -> str:
        try:
            value = codecs.decode(match.group(1).encode("latin-1", "backslashreplace"), "unicode_escape")
        except (UnicodeDecodeError, ValueError):
            value = match.group(1)
        return shlex.quote(value)

    return _ANSI_C.sub(replace, text).replace('$"', '"')


class _Parser:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.script = Script()
        self.pipelines = 0
        self.program_forms: dict[str, list[str]] = {}  # a program word -> the words bash makes of it

    def _new_pipeline(self) -> int:
        self.pipelines += 1
        return self.pipelines

    def script_of(self, text: str, depth: int, captured: bool = False) -> None:
        if depth > MAX_DEPTH or len(self.script.commands) > MAX_COMMANDS:
            self.script.complete = False
            return
        text = decode_ansi_c(text.replace("\\\n", ""))
        if "$" in text:
            text = _NAME_BEFORE_QUOTE.sub(r"${\1}", text)
        try:
            words = tokens(computed_directories(text))
        except ValueError:  # unbalanced quotes: bash would refuse too, but keep every word to check
            self.script.complete = False
            words = text.replace('"', " ").replace("'", " ").split()
        self._walk(words, depth, captured)
        for inner in substitutions(text):
            if not literal_heredoc(inner):  # `"$(cat <<'EOF' ... EOF)"` is text: its word holds it
                self.script_of(inner, depth + 1, captured=True)

    def _walk(self, words: list[str], depth: int, captured: bool = False) -> None:
        """`captured`: the words are a `$(...)` body, whose output becomes words of another command."""
        pipeline = self._new_pipeline()
        parens: list[bool] = []  # open `(`: True for `$(`, `<(`, `>(`, whose output another command reads
        # No `{ }`, loop or `if` whose output as a whole might be piped on (`done | xargs cat`).
        flat = not any(w in _COMPOUND and (i == 0 or words[i - 1] in _SEPARATORS or words[i - 1] in _PIPES)
                       for i, w in enumerate(words))
        current: list[str] = []
        writes: list[str] = []
        reads: list[str] = []  # operands of `<`, `<<`, `<<<`
        fed: list[str] = []  # the words of heredoc bodies
        delimiters: list[str] = []  # of this command's heredocs
        bodies: list[tuple[str, bool]] = []  # heredocs whose bodies follow the next newline: (delimiter, data)
        i = 0
        while i < len(words):
            word = words[i]
            if word == "(" and current and _ARRAY.fullmatch(current[-1]):  # `files=(a .env)`: words, no subshell
                close = words.index(")", i) if ")" in words[i:] else len(words)
                current[-1] += " ".join(w for w in words[i + 1:close] if w != "\n")
                i = close + 1
                continue
            if word in _SEPARATORS or word in _PIPES:
                # A heredoc `cat` or `tee` only writes out (to a file, the terminal or `tee`) is text, not paths;
                # inside `$(...)`, backticks or a `( )` piped on, its output may become words of another command.
                data = (bool(delimiters) and printed(current) and not captured and not parens and flat
                        and not any("`" in w for w in current) and (word not in _PIPES or _to_tee(words, i)))
                self._simple(current, writes, pipeline, depth, reads, [] if data else fed)
                bodies += [(d, data) for d in delimiters]
                current, writes, reads, fed, delimiters = [], [], [], [], []
                if word not in _PIPES:
                    pipeline = self._new_pipeline()
                if word == "(":
                    parens.append(i > 0 and (words[i - 1] in ("<", ">") or words[i - 1].endswith("$")))
                elif word == ")" and parens:
                    parens.pop()
                if word == "\n" and bodies:
                    i = self._bodies(words, i + 1, bodies, depth, captured or any(parens))
                    bodies = []
                    continue
            elif word in _WRITE_REDIRECTS or word in (">&", "<&"):
                target = words[i + 1] if i + 1 < len(words) else ""
                if target == "(" or target in _SEPARATORS:
                    pass  # process substitution `>(...)`: its body is parsed as a command of its own
                elif word in ("<&",) or (word == ">&" and (target.isdigit() or target == "-")):
                    i += 1  # duplicating a file descriptor names no file
                else:
                    writes.append(target)
                    i += 1
            elif word in _READ_REDIRECTS:
                target = words[i + 1] if i + 1 < len(words) else ""
                if target and target not in _SEPARATORS and target not in _PIPES:
                    reads.append(target)  # `< .env cat`, `done < .env`: read, wherever it stands
                    i += 1
                    if word == "<<":  # the body a heredoc feeds the command (`python3 - <<EOF`) is read too
                        fed += heredoc_words(words, i + 1, target.lstrip("-"))
                        delimiters.append(target.lstrip("-"))
                    elif word == "<<<":  # a here-string is a script to a shell (`bash <<< 'git push'`)
                        self.script_of(target, depth + 1)
            else:
                current.append(word)
            i += 1
        self._simple(current, writes, pipeline, depth, reads, fed)

    def _bodies(self, words: list[str], start: int, bodies: list[tuple[str, bool]], depth: int,
                captured: bool) -> int:
        """Past the heredoc bodies that start at `start`; where the next line begins. A body that is not text
        is also read as commands (a shell may run it); text is skipped."""
        for delimiter, data in bodies:
            end = body_end(words, start, delimiter)
            if not data:
                self._walk(words[start:end], depth + 1, captured)
            start = end + 1
        return min(start, len(words))

    def _simple(self, words: list[str], writes: list[str], pipeline: int, depth: int,
                reads: list[str] | None = None, fed: list[str] | None = None) -> None:
        reads, fed = reads or [], fed or []
        if not words and not writes and not reads:
            return
        seen = [*words, *reads, *fed]
        argv = [self._expand(w) for w in words]
        seen += [a for a, w in zip(argv, words, strict=True) if a != w]
        read = [*reads, *(self._expand(w) for w in reads)]
        seen += [w for w in read[len(reads):] if w not in reads]
        while argv and argv[0] in _KEYWORDS:
            argv.pop(0)
        while argv and (match := _ASSIGNMENT.match(argv[0])):
            self.env[match.group(1)] = match.group(2)
            argv.pop(0)
        if argv:
            argv += read[len(reads):]  # a command's input file is one of its operands (`grep X < f`)
        if argv and argv[0] in ("export", "local", "declare", "readonly", "typeset"):
            for word in argv[1:]:
                if match := _ASSIGNMENT.match(word):
                    self.env[match.group(1)] = match.group(2)
        argv, wrappers = self._unwrap(argv, depth)
        if argv and argv[0].rsplit("/", 1)[-1] in SHELLS and script_index(tuple(argv)) is None:
            self._printed_into_shell(pipeline, depth)
        seen = [x for w in seen for x in self.program_forms.get(w, [w])]  # `{cat,.env}` is `cat .env`
        seen += [a for a in argv if a not in seen]
        self.program_forms.clear()
        self.script.commands.append(Command(tuple(argv), tuple(seen), tuple(self._expand(w) for w in writes),
                                            pipeline, tuple(wrappers), tuple(dict.fromkeys(read))))

    def _printed_into_shell(self, pipeline: int, depth: int) -> None:
        """`echo 'git push' | sh`: what `echo` or `printf` earlier in the pipeline prints is the shell's script."""
        for cmd in [c for c in self.script.commands if c.pipeline == pipeline and c.program in ("echo", "printf")]:
            self.script_of(" ".join(cmd.argv[1:]).replace("\\n", "\n"), depth + 1)

    def _expand(self, word: str) -> str:
        if word[:2] in ("~+", "~-") and word[2:3] in ("", "/"):  # bash's $PWD and $OLDPWD: where the shell is
            word = "." + word[2:]
        if "$" not in word:
            return word
        word = _OPERATOR_EXPANSION.sub(self._operator_expansion, word)
        return _VARIABLE.sub(lambda m: self.env.get(m.group(1) or m.group(2), m.group(0)), word)

    def _operator_expansion(self, match: re.Match[str]) -> str:
        """`${X:-word}`, `${X=word}`, `${X:+word}`: the value or the word as bash picks it; a variable the line
        did not set is taken as unset (its word is what the line itself names)."""
        name, operator, word = match.groups()
        value = self.env.get(name)
        is_set = value is not None and (value != "" or not operator.startswith(":"))
        if operator.endswith("+"):
            return word if is_set or name not in self.env else ""
        if operator.endswith("?"):
            return value if value is not None else match.group(0)
        return value if is_set else word

    def _program_words(self, word: str) -> list[str]:
        """The words a program word stands for: its brace lists expanded, then a glob matched against the
        files on disk from the line's starting directory (`.bin/cl?ude`); what matches nothing stays as it is."""
        words = brace_words(word)
        if not any(c in w for w in words for c in "*?[") or word in ("[", "[["):
            if words != [word]:
                self.program_forms[word] = words
            return words
        import glob  # only for a program word with a glob in it

        out: list[str] = []
        for item in words:
            found = sorted(glob.glob(item, root_dir=self.env.get("PWD"))) if any(c in item for c in "*?[") else []
            out += found[:MAX_BRACE_WORDS] or [item]
        self.program_forms[word] = out
        return out

    def _unwrap(self, argv: list[str], depth: int) -> tuple[list[str], list[str]]:
        """Strip wrappers (sudo, env, xargs...); parse the strings of `sh -c`, `eval`, `watch`."""
        wrappers: list[str] = []
        while argv:
            argv = [*self._program_words(argv[0]), *argv[1:]]  # bash expands it too: `{rm,-rf,x}`, `orchestr[a]`
            name = argv[0].rsplit("/", 1)[-1]
            if name in SHELLS:
                script = _shell_script(argv[1:])
                if script is None:
                    break
                wrappers.append(name)
                self.script_of(script, depth + 1)
                return [], wrappers
            script = _string_of(name, argv[1:])
            if script is not None:
                wrappers.append(name)
                self.script_of(script, depth + 1)
                return [], wrappers
            if name == "git" and _GIT_RUNNERS.intersection(argv):
                for script in _git_scripts(argv):
                    self.script_of(script, depth + 1)
            if name not in _WRAPPERS:
                break
            wrappers.append(name)
            rest = _skip_options(argv[1:], _WRAPPERS[name])
            if name == "env":
                while rest and _ASSIGNMENT.match(rest[0]):
                    rest = rest[1:]
            if name in _DURATION_FIRST and rest:
                rest = rest[1:]
            if name == "xargs" and not rest:
                rest = ["echo"]
            argv = rest
        return argv, wrappers


def is_assignment(word: str) -> bool:
    """`NAME=value` (or `NAME+=value`): a variable set, not a program run."""
    return _ASSIGNMENT.match(word) is not None


def brace_words(word: str) -> list[str]:
    """The words bash's brace expansion makes of `word`, in its order (`cl{a,}ude` is `claude clude`); a word
    without a `{a,b}` list (`${x}`, `{}`) is itself. Quoting is already gone here, so a quoted list expands too."""
    match = _BRACE_LIST.search(word)
    if not match:
        return [word]
    out: list[str] = []
    for option in match.group(1).split(","):
        out += brace_words(word[:match.start()] + option + word[match.end():])
        if len(out) >= MAX_BRACE_WORDS:
            break
    return out[:MAX_BRACE_WORDS]


def literal_heredoc(text: str) -> bool:
    """Is `text` (a `$(...)` body) only `cat` printing a heredoc that expands nothing? Such a substitution
    is a string, as Claude Code writes commit messages: `git commit -m "$(cat <<'EOF' ... EOF)"`."""
    match = _CAT_HEREDOC.match(text)
    if match is None:
        return False
    quote, delimiter, rest = match.groups()
    lines = rest.rstrip().split("\n")
    body = [line.strip() for line in lines[:-1]]
    if lines[-1].strip() != delimiter or delimiter in body:
        return False  # not ended, or ended before its last line: more commands follow
    return bool(quote) or not any(c in rest for c in "$`\\")


def heredoc_words(words: list[str], start: int, delimiter: str) -> list[str]:
    """The words of a heredoc's body (from the line after `start` to the line holding only `delimiter`):
    the words it feeds its command, every one of them a possible path."""
    try:
        begin = words.index("\n", start) + 1
    except ValueError:
        return []
    return [w for w in words[begin:body_end(words, begin, delimiter)] if w not in _OPERATOR_SET]


def body_end(words: list[str], start: int, delimiter: str) -> int:
    """Where the heredoc body starting at `start` ends: its delimiter line (or the end of the text)."""
    j = start
    while j < len(words) and not (words[j] == delimiter and words[j - 1] == "\n"
                                  and (j + 1 == len(words) or words[j + 1] == "\n")):
        j += 1
    return j


def printed(words: list[str]) -> bool:
    """Does this command only copy its input out (`cat`, `tee FILE`)?"""
    return bool(words) and words[0].rsplit("/", 1)[-1] in ("cat", "tee")


def _to_tee(words: list[str], pipe: int) -> bool:
    """Does everything after the pipe at `pipe`, to the end of the pipeline, run `tee` (`| tee -a f`)?"""
    rest = list(itertools.takewhile(lambda w: w not in _SEPARATORS, words[pipe + 1:]))
    programs = [w for i, w in enumerate(rest) if i == 0 or rest[i - 1] in _PIPES]
    return bool(rest) and all(w.rsplit("/", 1)[-1] == "tee" for w in programs)


def script_index(argv: tuple[str, ...]) -> int | None:
    """Where in argv is the script file an interpreter runs: `python3 -u x`, `bash x`, `uv run --script x`,
    `"$PY" x` (a program computed at run time may be any interpreter). None for `-c`, `-m` and programs
    that are not interpreters."""
    program = argv[0].rsplit("/", 1)[-1] if argv else ""
    start = 1
    if program.startswith(("python", "pypy")) or program == "py":
        with_value, stop = _PYTHON
    elif program in SHELLS:
        with_value, stop = _SHELL
    elif program in ("uv", "uvx"):
        with_value, stop = _UV
        if program == "uv":
            words = [w for w in argv[1:4] if not w.startswith("-")]
            if words[:1] != ["run"] and words[:2] != ["tool", "run"]:
                return None
            start = argv.index("run") + 1
    elif argv and argv[0].startswith("$"):
        with_value, stop = frozenset(), frozenset()
    else:
        return None
    i = start
    while i < len(argv) and argv[i].startswith(("-", "+")) and argv[i] not in ("-", "--"):
        if argv[i] in stop:
            return None
        i += 2 if argv[i] in with_value else 1
    i += i < len(argv) and argv[i] == "--"
    return i if i < len(argv) else None


def _skip_options(words: list[str], with_value: frozenset[str]) -> list[str]:
    i = 0
    while i < len(words) and words[i].startswith("-") and words[i] != "-":
        if words[i] == "--":
            return words[i + 1:]
        i += 2 if words[i] in with_value else 1
    return words[i:]


def _string_of(name: str, args: list[str]) -> str | None:
    """The command string `eval`, `watch`, `su -c`/`runuser -c`, `script -c`, `flock` and `tmux new-session`
    hand to a shell; None for other programs."""
    if name == "eval":
        return " ".join(args)
    if name == "watch":
        return " ".join(_skip_options(args, _WRAPPERS["watch"]))
    if name in ("su", "runuser") and "-c" in args[:-1]:
        return args[args.index("-c") + 1]
    if name == "script":  # `script -qc 'cmd' /dev/null`
        for i, word in enumerate(args[:-1]):
            if word == "--command" or (word.startswith("-") and not word.startswith("--") and word.endswith("c")):
                return args[i + 1]
        return next((w.split("=", 1)[1] for w in args if w.startswith("--command=")), None)
    if name == "flock":  # `flock -c 'cmd' FILE`, `flock FILE cmd args`
        if "-c" in args[:-1] or "--command" in args[:-1]:
            return args[(args.index("-c") if "-c" in args[:-1] else args.index("--command")) + 1]
        rest = _skip_options(args, frozenset({"-w", "--timeout", "-E", "--conflict-exit-code"}))
        return " ".join(shlex.quote(w) for w in rest[1:]) if len(rest) > 1 else None
    if name == "tmux" and any(a in ("new-session", "new") for a in args):  # its last word is the shell command
        rest = args[[a in ("new-session", "new") for a in args].index(True) + 1:]
        rest = _skip_options(rest, frozenset({"-s", "-n", "-c", "-t", "-x", "-y", "-e", "-F", "-f"}))
        return " ".join(rest) if rest else None
    return None


def _git_scripts(argv: list[str]) -> list[str]:
    """The command lines git itself runs: `git submodule foreach CMD`, `git rebase -x CMD`, `git bisect run CMD`,
    `git filter-branch --tree-filter CMD` (and its other filters)."""
    from .destinations import git_subcommand  # git lines only

    args = git_subcommand(argv)
    sub, rest = (args[0], args[1:]) if args else ("", [])
    if sub == "submodule" and "foreach" in rest:
        words = rest[rest.index("foreach") + 1:]
        while words and words[0] in ("--recursive", "-q", "--quiet"):
            words = words[1:]
        return [" ".join(words)] if words else []
    if sub == "bisect" and rest[:1] == ["run"]:
        return [shlex.join(rest[1:])] if rest[1:] else []
    options = {"rebase": ("-x", "--exec"), "filter-branch": _GIT_FILTERS}.get(sub, ())
    return [value for i, word in enumerate(rest) if (value := _option_value(rest, i, word, options)) is not None]


def _option_value(args: list[str], i: int, word: str, options: tuple[str, ...]) -> str | None:
    """The value of `word` (at `i` in `args`) when it is one of `options`: `-x V`, `-xV`, `--exec V`, `--exec=V`."""
    name, glued, value = word.partition("=")
    if name in options and not glued:
        return args[i + 1] if i + 1 < len(args) else None
    if name in options and name.startswith("--"):
        return value
    short = next((o for o in options if not o.startswith("--") and word.startswith(o) and word != o), None)
    return word[len(short):] if short else None


def _shell_script(args: list[str]) -> str | None:
    """The script of `sh -c SCRIPT` / `bash -lc SCRIPT`; None when the shell runs a file or stdin."""
    for i, word in enumerate(args):
        if not word.startswith("-") or word == "-":
            return None
        if not word.startswith("--") and "c" in word[1:]:
            return args[i + 1] if i + 1 < len(args) else ""
    return None
