"""Message addresses: what each form means, which are valid, and which mailboxes one agent run reads.

Addresses (ARCHITECTURE.md §3): an agent type (`tech-lead`), one agent run (`agent:<agent_id>`),
a team (`team:qa`), `human`, `broadcast`, `main` (the main thread of any session, i.e. the session's
own orchestrator) and `main:<session_id>` (the main thread of that session; once that session has
ended, of whichever session reads next: `delivery.adopting`). Team and broadcast messages are *shared*: every run they reach acknowledges for
itself. Every other form names one logical recipient, so the first ack or answer closes it; a
message to an agent type reaches each run of that type until one of them closes it.
"""

from __future__ import annotations

import re
from typing import Literal

from ..record import Record
from ..teams import Organization, normalize_agent_type

HUMAN = "human"
MAIN = "main"
BROADCAST = "broadcast"
SYSTEM = "orchestra"  # sender of messages the pack itself writes (escalations, lifecycle notices)
RUN_PREFIX = "agent:"
TEAM_PREFIX = "team:"
MAIN_PREFIX = "main:"  # `main:<session_id>`: the main thread of one session (also its delivery key)

Kind = Literal["run", "agent_type", "team", "human", "main", "broadcast"]
SHARED_KINDS: frozenset[str] = frozenset({"team", "broadcast"})

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-:]*$")


def kind(address: str) -> Kind:
    if address == HUMAN:
        return "human"
    if address == MAIN or address.startswith(MAIN_PREFIX):
        return "main"
    if address == BROADCAST:
        return "broadcast"
    if address.startswith(RUN_PREFIX):
        return "run"
    if address.startswith(TEAM_PREFIX):
        return "team"
    return "agent_type"


def is_shared(address: str) -> bool:
    return kind(address) in SHARED_KINDS


def normalize(address: str) -> str:
    """Plugin installs prefix agent types with `orchestra:`; messages store the bare name."""
    address = address.strip()
    return normalize_agent_type(address) if kind(address) == "agent_type" else address


def check_recipient(tx, to: object, org: Organization) -> str:
    """The normalized address, or ValueError naming what is wrong and what would be accepted."""
    if not isinstance(to, str) or not to.strip():
        raise ValueError("recipient 'to': expected a non-empty string such as tech-lead, agent:<id>, team:qa, "
                         "human, main or broadcast")
    address = normalize(to)
    what = kind(address)
    if what == "main" and address != MAIN:
        session_id = address[len(MAIN_PREFIX):]
        if not _NAME.match(session_id) or tx.get(f"sessions.{session_id}", None) is None:
            raise ValueError(f"recipient {to!r}: no session with id {session_id!r} in state (`main` reaches "
                             "the main thread of any session; check `orchestra state get sessions`)")
        return address
    if what in ("human", "main", "broadcast"):
        return address
    if what == "run":
        agent_id = address[len(RUN_PREFIX):]
        if not _NAME.match(agent_id) or tx.get(f"agents.{agent_id}", None) is None:
            meant = (f"; {agent_id} is an agent type: write {agent_id} (every run of that type reads it)"
                     if org.member(agent_id) else "")
            raise ValueError(f"recipient {to!r}: no agent run with id {agent_id!r} in state{meant} "
                             "(runs are recorded when they are delegated; check `orchestra state get agents`)")
        return address
    if what == "team":
        team = address[len(TEAM_PREFIX):]
        if team not in org.teams:
            known = ", ".join(sorted(org.teams)) or "none (teams.yaml defines no teams)"
            meant = (f"{team} is an agent type: write {team}" if org.member(team)
                     else _meant(team, [f"{TEAM_PREFIX}{name}" for name in org.teams], TEAM_PREFIX))
            raise ValueError(f"recipient {to!r}: unknown team {team!r}; {meant + '; ' if meant else ''}"
                             f"known teams: {known}")
        return address
    if not _NAME.match(address):
        raise ValueError(f"recipient {to!r}: not an address; use an agent type, agent:<id>, team:<name>, "
                         "human, main or broadcast")
    if org.member(address) is None and not tx.find("agents", agent_type=address):
        known = ", ".join(sorted(org.agents)) or "none"
        meant = (f"{address} is a team: write {TEAM_PREFIX}{address}" if address in org.teams
                 else _meant(address, [HUMAN, MAIN, BROADCAST, *org.agents, *(f"{TEAM_PREFIX}{t}" for t in org.teams)]))
        raise ValueError(f"recipient {to!r}: unknown agent type (not in teams.yaml and no run of that type); "
                         f"{meant + '; ' if meant else ''}known agent types: {known}")
    return address


def _meant(name: str, addresses: list[str], prefix: str = "") -> str:
    """'did you mean X?' for an address written in other letter case, else ''."""
    wanted = f"{prefix}{name}".lower()
    found = next((address for address in addresses if address.lower() == wanted), None)
    return f"did you mean {found}?" if found else ""


class Recipient(Record):
    """One agent run as a reader of messages: its delivery key and the addresses that reach it. A `view` reads
    as no run: what is addressed to an agent type or a team, as `orchestra msg inbox tech-lead` shows it."""

    key: str
    addresses: frozenset[str]
    agent_id: str | None = None
    agent_type: str | None = None
    session_id: str | None = None
    view: str | None = None

    @property
    def address(self) -> str:
        """How others write to exactly this run (a view: the address it shows)."""
        return self.view or (f"{RUN_PREFIX}{self.agent_id}" if self.agent_id else MAIN)

    @property
    def main_thread(self) -> bool:
        return self.agent_id is None and self.view is None


def session_main(session_id: str | None) -> str:
    """The address of one session's main thread (`main` when the session is unknown)."""
    return f"{MAIN_PREFIX}{session_id}" if session_id else MAIN


def run_key(agent_id: str | None, session_id: str | None) -> str:
    """Deliveries are counted per run: a subagent's agent_id, or the main thread of one session."""
    return agent_id or session_main(session_id)


def recipient(org: Organization | None, agent_id: str | None, agent_type: str | None,
              session_id: str | None = None, *, human: bool = False) -> Recipient:
    """The mailboxes of one run. The main thread reads `main` and its own `main:<session_id>` (and `human`
    where the user is present)."""
    addresses = {BROADCAST}
    bare = normalize_agent_type(agent_type) if agent_type else None
    if agent_id:
        addresses.add(f"{RUN_PREFIX}{agent_id}")
    else:
        addresses.update({MAIN, session_main(session_id)})
        if human:
            addresses.add(HUMAN)
    if bare:
        addresses.add(bare)
        member = org.member(bare) if org else None
        if member is not None:
            addresses.add(f"{TEAM_PREFIX}{member.team}")
    return Recipient(run_key(agent_id, session_id), frozenset(addresses), agent_id, bare, session_id)


def review_route(tx, to: str, org: Organization, sender: str | None = None) -> str:
    """Review requests go to reviewers: a team resolves to its first reviewer; anyone else must be one. Nobody
    reviews their own work: a reviewer asking for a review gets another one (its team's next, a person)."""
    what = kind(to)
    if what == "human" or (what == "main" and org.main_session_role == "reviewer"):
        return to
    author = agent_type_of(tx, sender) if sender else None
    if what == "team":
        team = org.teams[to[len(TEAM_PREFIX):]]
        names = [n for n in (team.orchestrator, *team.members) if org.role_of(n) == "reviewer"]
        for name in names:
            if name != author:
                return name
        if names:
            raise ValueError(f"review request to {to!r}: team {team.name}'s reviewer is {author}, the agent type "
                             "asking, and nobody reviews their own work; send it to another reviewer or to human")
        raise ValueError(f"review request to {to!r}: team {team.name} has no member with the reviewer role "
                         "(set `role: reviewer` on one in teams.yaml)")
    agent_type = agent_type_of(tx, to) if what == "run" else to
    if what in ("run", "agent_type") and org.member(agent_type) and org.role_of(agent_type) == "reviewer":
        if agent_type == author:
            raise ValueError(f"review request to {to!r}: that is {author}, the agent type asking, and nobody reviews "
                             "their own work; send it to another reviewer or to human")
        return to
    reviewers = sorted(name for name in org.agents if org.role_of(name) == "reviewer")
    raise ValueError(f"review request to {to!r}: route it to a reviewer ({', '.join(reviewers) or 'none in teams.yaml'}),"
                     " a team:<name> with one, or human")


def agent_type_of(tx, address: str) -> str:
    """The agent type behind an address: a run's, from state; an agent type is its own."""
    if kind(address) != "run":
        return normalize(address)
    return normalize_agent_type((tx.get(f"agents.{address[len(RUN_PREFIX):]}", None) or {}).get("agent_type") or "")
