"""A session resumed with `claude --resume <id>`: Claude Code keeps the session id, so the pack must
open the ended session again instead of taking everything the resumed session starts for stopped."""

from __future__ import annotations

from tests.e2e.fake_api import MAIN, delegate, say
from tests.e2e.test_delegation import (
    MEMBER,
    denial,
    event_types,
    in_worktree,
    member_settings,
    seed_sprint,
    task,
    team,
)

__all__ = ["team"]  # the fixture, shared with the delegation scenarios


def test_resumed_session_tracks_its_delegations_as_live(team, api):
    team.edit_teams(lambda doc: member_settings(doc, "fullstack-eng").update(capacity=1))
    seed_sprint(team, task("busy-1"), task("cap-2"))
    main = api.script.on(MAIN).reply(say("Nothing to build yet."))
    first = team.run(api, "Look around.")
    assert first.returncode == 0, first.describe()
    session = first.init["session_id"]

    main.reply(delegate("fullstack-eng", "[task:busy-1] Build the busy feature.", "Busy feature", background=True)) \
        .reply(delegate("fullstack-eng", "[task:cap-2] Build one more.", "One more")) \
        .reply(say("fullstack-eng is at capacity.")) \
        .reply(say("The busy feature is done."))
    busy = api.script.on(MEMBER, "[task:busy-1]")
    busy.reply(in_worktree(team, "busy.py", "BUSY = 1\n"), after=main.asked(3)) \
        .reply(say("STATUS: completed\nARTIFACTS: busy.py"))
    extra = api.script.on(MEMBER, "[task:cap-2]").reply(say("STATUS: completed"))

    run = team.run(api, "Build both features.", extra_args=("--resume", session))

    assert run.returncode == 0, run.describe()
    assert not api.problems(), api.problems()
    assert run.init["session_id"] == session
    assert [h["outcome"] for h in run.hook_responses("SessionStart")] == ["success"]
    # the run started in the resumed session holds fullstack-eng's one slot
    reason = denial(api.conversation(main)[3])
    assert "busy-1" in reason, reason
    assert api.conversation(extra) == []
    with team.state() as tx:
        assert tx.get("tasks.busy-1")["status"] == "completed"
        assert tx.get("tasks.cap-2")["status"] == "queued"
        assert "task_blocked" not in event_types(tx, "busy-1")
        assert not [e for e in tx.events_after(0, limit=10000) if e["type"] == "agent_stopped"]
        assert tx.get(f"sessions.{session}")["ended_at"]  # and ended again with the resumed session
