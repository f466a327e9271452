"""`orchestra doctor` with the state in PostgreSQL: it names the server without the password, only
looks (an empty schema stays empty), and says what is wrong with a server it cannot use."""

from __future__ import annotations

import json
from pathlib import Path

from .server import Server, dump
from .test_migrate import cli


def state_check(project: Path, url: str) -> dict:
    proc = cli(project, "doctor", str(project), "--json", url=url)
    [check] = [c for c in json.loads(proc.stdout)["checks"] if c["name"] == "state"]
    return check


def test_doctor_names_the_server_without_the_password(project: Path, pg_url: str) -> None:
    user_part = pg_url.replace("orchestra@", "orchestra:s3cret-pw@", 1)
    query_part = f"{pg_url}&password=s3cret-pw"
    for url in (user_part, query_part):
        cli(project, "init", url=url)
        check = state_check(project, url)
        assert check["status"] == "ok", check
        assert "s3cret" not in check["detail"] and "readable (schema_version 1)" in check["detail"]


def test_doctor_leaves_an_empty_schema_empty(project: Path, pg_url: str) -> None:
    check = state_check(project, pg_url)
    assert check["status"] == "warn", check
    assert "holds no Orchestra tables" in check["detail"] and "orchestra init" in check["detail"]
    assert dump(pg_url) is None  # no tables were made


def test_doctor_on_an_unusable_server_gives_the_reason_and_no_file_advice(project: Path, postgres: Server) -> None:
    url = f"{postgres.url('no_such_database')}?password=s3cret-pw"
    check = state_check(project, url)
    assert check["status"] == "fail", check
    assert 'database "no_such_database" does not exist' in check["detail"]
    assert "s3cret" not in check["detail"] and "move it aside" not in check["detail"]


def test_init_names_the_server_without_the_password(project: Path, pg_url: str) -> None:
    proc = cli(project, "init", url=f"{pg_url}&password=s3cret-pw")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("state ready: postgresql://") and "password=***" in proc.stdout
    assert "s3cret" not in proc.stdout


def test_a_mistyped_scheme_is_reported_without_the_password(project: Path) -> None:
    proc = cli(project, "task", "list", url="postgressql://orchestra:s3cret-pw@db.internal/orchestra")
    assert proc.returncode == 1
    assert "unknown scheme 'postgressql'" in proc.stderr and "orchestra:***@db.internal" in proc.stderr
    assert "s3cret" not in proc.stderr


def test_a_password_with_url_characters_is_never_shown(project: Path, postgres: Server, pg_url: str) -> None:
    # libpq reads '?' and '#' in a password as part of it: the store works, and is named without it.
    usable = pg_url.replace("orchestra@", "orchestra:s3c?ret#pw@", 1)
    proc = cli(project, "init", url=usable)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("state ready: postgresql://orchestra:***@127.0.0.1:")
    assert "s3c" not in proc.stdout and "ret" not in proc.stdout
    # '@', '/', '%' and a space must be percent-encoded: refused, naming neither the password nor a piece of it.
    base = postgres.url("orchestra")
    for password in ("s3c@ret-pw", "s3c/ret-pw", "s3c%zzret-pw", "s3c:r/e%t@pw", "s3c ret-pw"):
        url = base.replace("orchestra@", f"orchestra:{password}@", 1)
        listed = cli(project, "task", "list", url=url)
        assert listed.returncode == 1, listed.stdout
        assert "orchestra:***@127.0.0.1" in listed.stderr and "percent-encode" in listed.stderr, listed.stderr
        check = state_check(project, url)
        assert check["status"] == "fail", check
        for text in (listed.stderr, check["detail"]):
            assert "ret" not in text and "s3c" not in text, text
    from orchestra.store.pgurl import connection_params, redacted

    assert redacted("sqlite:///srv/team:a@b/state.db") == "sqlite:///srv/team:a@b/state.db"  # a path, shown as is

    # Without a password in the URL, a database whose name holds '@' (written %40) is no misread password.
    assert connection_params(f"{base.rpartition('/')[0]}/my%40db")["dbname"] == "my@db"


def test_a_state_setting_that_is_no_url_is_reported_without_the_password(project: Path, postgres: Server) -> None:
    for url in (f"host=127.0.0.1 port={postgres.port} password=s3cret-pw dbname=orchestra",
                "postgresql+psycopg://orchestra:s3cret-pw@db.internal/orchestra"):
        check = state_check(project, url)
        assert check["status"] == "fail", check
        assert "***" in check["detail"] and "s3cret" not in check["detail"], check
        assert "move it aside" not in check["detail"], check
        listed = cli(project, "task", "list", url=url)
        assert listed.returncode == 1 and "***" in listed.stderr and "s3cret" not in listed.stderr, listed.stderr


def test_a_url_setting_libpq_cannot_use_is_one_line_naming_it(project: Path, pg_url: str) -> None:
    for setting, said in (("connect_timeout=abc", "bad value for connect_timeout: 'abc'"),
                          ("bogus_param=1", 'invalid URI query parameter: "bogus_param"')):
        url = pg_url.replace("orchestra@", "orchestra:s3cret-pw@", 1) + f"&{setting}"
        listed = cli(project, "task", "list", url=url)
        assert listed.returncode == 1 and "Traceback" not in listed.stderr, listed.stderr
        assert said in listed.stderr and "orchestra:***@" in listed.stderr and "s3cret" not in listed.stderr
        assert len(listed.stderr.strip().splitlines()) == 1, listed.stderr


def test_doctor_reports_tables_of_the_earlier_layout_as_a_warning_and_leaves_them(project: Path, pg_url: str) -> None:
    import psycopg

    from .test_connection import EARLIER_LAYOUT

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(EARLIER_LAYOUT)
    check = state_check(project, pg_url)
    assert check["status"] == "warn", check
    assert "of an earlier Orchestra" in check["detail"] and "orchestra init" in check["detail"]
    with psycopg.connect(pg_url, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM information_schema.columns WHERE table_name='entities' "
                            "AND table_schema=current_schema() AND column_name='has_nul'").fetchone()[0] == 0
    assert cli(project, "task", "list", url=pg_url).returncode == 0  # the next command brings them up to date
