"""Choosing a backend from a state URL."""

from __future__ import annotations

from pathlib import Path

import pytest
from orchestra import paths
from orchestra.store import StateError, open_store


@pytest.mark.parametrize("scheme", ["sqlite", "json"])
def test_file_urls_need_an_absolute_path(scheme: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for url in (f"{scheme}://state.db", f"{scheme}://./state.db", f"{scheme}://", f"{scheme}:///"):
        with pytest.raises(StateError, match="must be absolute"):
            open_store(url)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("scheme", ["sqlite", "json"])
def test_an_extra_slash_names_the_same_file(scheme: str, tmp_path: Path) -> None:
    with open_store(f"{scheme}://{tmp_path}/s") as one:
        one.set("tasks.t", {"title": "T"})
        assert one.url == f"{scheme}://{tmp_path}/s"
    with open_store(f"{scheme}:///{tmp_path}/s") as two:
        assert two.url == f"{scheme}://{tmp_path}/s"
        assert two.get("tasks.t.title") == "T"


@pytest.mark.parametrize(("scheme", "file"), [("sqlite", "orchestration.db"), ("json", "state.json")])
def test_a_url_naming_a_directory_says_so_and_names_a_file_in_it(scheme: str, file: str, tmp_path: Path) -> None:
    """SQLite said `state database error (unable to open database file)`, and `state migrate --from`
    `no state store there (no such file)`."""
    for create in (True, False):
        with pytest.raises(StateError, match=rf"^{tmp_path}: a directory, not a state file; name a file in it "
                                             rf"\({scheme}://{tmp_path}/{file}\)$"):
            open_store(f"{scheme}://{tmp_path}", create=create)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("url", "message"), [
    ("orchestration.db", "expected sqlite:///path"),
    ("mysql://host/db", "unknown scheme 'mysql'"),
])
def test_bad_urls_are_named(url: str, message: str) -> None:
    with pytest.raises(StateError, match=message):
        open_store(url)


def test_the_default_is_the_projects_sqlite_file(project: Path) -> None:
    assert paths.state_url() == f"sqlite://{project / '.claude' / 'state' / 'orchestration.db'}"
    with open_store() as store:
        assert store.url == paths.state_url()
    assert (project / ".claude" / "state" / "orchestration.db").exists()


@pytest.mark.parametrize("scheme", ["sqlite", "json"])
def test_a_store_file_reached_through_a_symbolic_link_is_the_file_written(scheme: str, tmp_path: Path) -> None:
    """Two checkouts whose store is a link to one shared file: the JSON store replaced the link with a file
    of its own on its first write, and the other checkout never saw that write (nor any after it)."""
    shared = tmp_path / "shared" / "state"
    shared.parent.mkdir()
    with open_store(f"{scheme}://{shared}") as store:
        store.set("tasks.t1", {"title": "one"})
    links = []
    for checkout in ("a", "b"):
        (tmp_path / checkout).mkdir()
        links.append(tmp_path / checkout / "state")
        links[-1].symlink_to(shared)
    with open_store(f"{scheme}://{links[0]}") as store:
        store.set("tasks.t2", {"title": "from a"})
    assert links[0].is_symlink()
    with open_store(f"{scheme}://{links[1]}") as store:
        assert sorted(store.get("tasks")) == ["t1", "t2"]


@pytest.mark.parametrize("scheme", ["sqlite", "json"])
def test_a_damaged_store_reached_through_a_symbolic_link_is_moved_aside_where_it_is(scheme: str, tmp_path: Path) -> None:
    """SQLite moved the link aside: the damaged file stayed in the shared place under its name (every other
    checkout still failed on it), and the next write made a new database where the link had been."""
    from orchestra.store import CorruptStateError

    shared = tmp_path / "shared" / "state"
    shared.parent.mkdir()
    with open_store(f"{scheme}://{shared}") as store:
        store.set("tasks.t1", {"title": "one"})
    (tmp_path / "a").mkdir()
    link = tmp_path / "a" / "state"
    link.symlink_to(shared)
    shared.write_bytes(b"\x00\x01 this is not state \xff" * 64)
    with pytest.raises(CorruptStateError) as raised, open_store(f"{scheme}://{link}") as store:
        store.get("tasks")
    [aside] = shared.parent.glob("state.corrupt-*")
    assert aside.read_bytes() == b"\x00\x01 this is not state \xff" * 64 and not aside.is_symlink()
    assert aside.name in str(raised.value) and str(shared) in str(raised.value)
    assert link.is_symlink() and sorted(p.name for p in link.parent.iterdir()) == ["state"]
    with open_store(f"{scheme}://{link}") as store:
        store.set("tasks.t2", {"title": "after"})
    assert link.is_symlink()
    with open_store(f"{scheme}://{shared}") as store:
        assert sorted(store.get("tasks")) == ["t2"]
