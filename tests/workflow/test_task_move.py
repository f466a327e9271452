"""Moving a task between sprints: `orchestra task move`, and `state set` refusing to do it half."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from orchestra.cli import main

SPRINTS = {
    "s1": "id: s1\ntasks:\n  - {id: a, title: A}\n  - {id: b, title: B, dependencies: [a]}\n"
          "  - {id: c, title: C}\n  - {id: d, title: D, dependencies: [c]}\n",
    "s2": "id: s2\ntasks:\n  - {id: g, title: G}\n",
    "s3": "id: s3\ntasks:\n  - {id: h, title: H}\n",
}


@pytest.fixture
def sprints(sample: Path, capsys) -> Path:
    """s1 and s2 running, s3 loaded and not started."""
    for sid, text in SPRINTS.items():
        (sample / f".claude/sprints/{sid}.yaml").write_text(text, encoding="utf-8")
    assert main(["sprint", "start", "s1"]) == 0 and main(["sprint", "start", "s2"]) == 0
    assert main(["sprint", "load", "s3"]) == 0
    capsys.readouterr()
    return sample


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def state(capsys, path: str):
    assert main(["state", "get", path, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_state_set_refuses_to_move_a_task_between_sprints(sprints: Path, capsys) -> None:
    for path, value in (("tasks.c.sprint", '"s2"'), ("tasks.c", '{"title": "C", "sprint": "s2"}'),
                        ("sprints.s1.tasks", '["a", "b", "d"]'), ("tasks.new", '{"title": "N", "sprint": "s1"}')):
        code, _, err = run(capsys, "state", "set", path, value)
        assert code != 0 and "orchestra task move" in err, (path, err)
    assert state(capsys, "tasks.c.sprint") == "s1" and "new" not in state(capsys, "tasks")
    assert state(capsys, "sprints.s1.tasks") == ["a", "b", "c", "d"]
    assert run(capsys, "state", "set", "tasks.c.title", '"C2"')[0] == 0  # other fields are written as before


def test_task_move_between_running_sprints_keeps_both_in_step(sprints: Path, capsys) -> None:
    code, out, err = run(capsys, "task", "move", "d", "s2")
    assert code != 0 and "d depends on c, which is not finished and not in s2" in err
    assert "`orchestra task move d c s2`" in err
    code, out, err = run(capsys, "task", "move", "c", "s2")
    assert code != 0 and "d, which stays in s1, depends on c" in err
    code, out, err = run(capsys, "task", "move", "d", "c", "s2")
    assert code == 0, err
    assert out.splitlines() == ["d: sprint s1 -> s2", "c: sprint s1 -> s2"]
    assert state(capsys, "tasks.d.sprint") == "s2" and state(capsys, "tasks.c.sprint") == "s2"
    assert state(capsys, "sprints.s1.tasks") == ["a", "b"]
    assert state(capsys, "sprints.s2.tasks") == ["g", "d", "c"]
    assert {"c", "d"} <= set(sum(state(capsys, "sprints.s2.team_assignments").values(), []))
    assert not {"c", "d"} & set(sum(state(capsys, "sprints.s1.team_assignments").values(), []))
    events = [e for e in state(capsys, "observability.events") if e["type"] == "task_moved"]
    assert [(e["task_id"], e["data"]["from"], e["data"]["to"]) for e in events] == [("d", "s1", "s2"),
                                                                                  ("c", "s1", "s2")]
    for sid in ("s1", "s2"):  # both plan without a word about dependencies written directly
        code, out, err = run(capsys, "sprint", "plan", sid)
        assert code == 0, err
    assert "ready now: g, c" in out or "ready now: c, g" in out
    assert main(["task", "set-status", "a", "cancelled"]) == 0  # a finished dependency is met wherever it is
    assert run(capsys, "task", "move", "b", "s2")[0] == 0 and main(["sprint", "plan", "s2"]) == 0


def test_task_move_names_every_dependency_left_behind_and_one_that_cannot_move(sprints: Path, capsys) -> None:
    (sprints / ".claude/sprints/s4.yaml").write_text(
        "id: s4\ntasks:\n  - {id: p, title: P}\n  - {id: q, title: Q}\n  - {id: r, title: R, dependencies: [p]}\n"
        "  - {id: m, title: Release, estimate: 0, dependencies: [q, r]}\n", encoding="utf-8")
    assert main(["sprint", "start", "s4"]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, "task", "move", "m", "s2")  # m needs q and r, and r needs p: all three go with it
    assert code != 0 and "m depends on q, r, which are not finished and not in s2" in err
    assert "`orchestra task move m q r p s2`" in err
    assert run(capsys, "task", "move", "m", "q", "r", "p", "s2")[0] == 0
    assert main(["task", "set-status", "q", "in_progress"]) == 0
    capsys.readouterr()
    code, _, err = run(capsys, "task", "move", "m", "r", "p", "s1")  # the command it would suggest could not run
    assert code != 0 and "m depends on q, which is not finished and not in s1" in err
    assert "q is in_progress and cannot move" in err and "orchestra task move m r p q s1" not in err


def test_task_move_out_of_any_sprint_and_the_moves_refused(sprints: Path, capsys) -> None:
    code, out, err = run(capsys, "task", "move", "a", "s3")
    assert code != 0 and "s3 has not started" in err and "its file" in err
    assert main(["task", "set-status", "a", "in_progress"]) == 0
    capsys.readouterr()
    code, out, err = run(capsys, "task", "move", "a", "s2")
    assert code != 0 and "a is in_progress" in err
    code, out, err = run(capsys, "task", "move", "g", "--out")
    assert code == 0 and out.strip() == "g: sprint s2 -> (none)", err
    assert state(capsys, "tasks.g.sprint") is None and state(capsys, "sprints.s2.tasks") == []
    code, out, err = run(capsys, "task", "move", "g", "nope")  # neither in state nor in a sprint file
    assert code != 0 and "sprint nope: no such sprint is known" in err and "start it first" not in err, err
    (sprints / ".claude/sprints/s9.yaml").write_text("id: s9\nname: S9\ngoal: g\ntasks: []\n", encoding="utf-8")
    code, out, err = run(capsys, "task", "move", "g", "s9")  # in a file, not loaded
    assert code != 0 and "start it first (`orchestra sprint start s9`)" in err, err
    assert run(capsys, "task", "move", "g", "s2")[0] == 0 and state(capsys, "sprints.s2.tasks") == ["g"]
    code, _, err = run(capsys, "task", "move", "g")
    assert code != 0 and "SPRINT or --out" in err


def test_a_task_whose_sprint_record_is_gone_moves_without_making_one(sprints: Path, capsys) -> None:
    from orchestra.store import open_store

    with open_store() as store, store.transaction() as tx:  # as an imported state can hold it
        tx.set("tasks.z", {"title": "Z", "status": "queued", "sprint": "gone"})
    code, out, err = run(capsys, "task", "move", "z", "s2")
    assert code == 0 and out.strip() == "z: sprint gone -> s2", err
    assert "gone" not in state(capsys, "sprints") and state(capsys, "sprints.s2.tasks") == ["g", "z"]


def test_work_of_a_sprint_in_review_is_refused_saying_how_it_leaves(sprints: Path, capsys) -> None:
    assert run(capsys, "sprint", "close", "s2", "--review")[0] == 0
    for target in ("s1", "--out"):
        code, out, err = run(capsys, "task", "move", "g", target)
        assert code == 1 and out == ""
        assert err == ("orchestra task: task g is in sprint s2, which is in review: closing it (`orchestra sprint "
                       "close s2`) carries its unfinished work out, and then it moves; or reopen it (`orchestra "
                       "sprint close s2 --reopen REASON`), take the task out of its file and start it again\n"), err
    assert state(capsys, "tasks.g.sprint") == "s2"
    assert run(capsys, "sprint", "close", "s2")[0] == 0
    assert run(capsys, "task", "move", "g", "s1")[0] == 0  # what the refusal said
