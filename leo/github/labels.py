"""The SOP's label state machine on a PR, and the label taxonomy ``leo labels sync`` creates.

``codex-building`` → ``claude-enforcing`` → ``gates-passing`` → ``ready-to-merge`` or
``needs-revision`` → ``codex-building``. The enforcer may send work back from
``claude-enforcing``, and a ``ready-to-merge`` PR that fails a re-run goes to
``needs-revision``; nothing else is legal, and LEO refuses it with a message naming the moves
that are. Labels are set with one PUT (idempotent), keeping the PR's other labels.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from leo.errors import LeoError
from leo.github.client import api, retry_write

if TYPE_CHECKING:
    from github import Github

    from leo.models import Decision


class LabelSpec(NamedTuple):
    name: str
    color: str
    description: str


STATES: tuple[LabelSpec, ...] = (
    LabelSpec("codex-building", "1d76db", "Builder lane (Codex) is building; not ready for review"),
    LabelSpec("claude-enforcing", "5319e7", "Enforcer lane (Claude/EXEC) is checking the build"),
    LabelSpec("gates-passing", "fbca04", "Required gates passed; LEO's verdict pending"),
    LabelSpec("ready-to-merge", "0e8a16", "LEO verdict PASS on the current head"),
    LabelSpec("needs-revision", "d93f0b", "LEO verdict FAIL: back to the builder"),
)
STATE_NAMES = tuple(s.name for s in STATES)

#: Legal moves of the state machine; ``None`` is a PR without a state label.
TRANSITIONS: dict[str | None, tuple[str, ...]] = {
    None: ("codex-building",),
    "codex-building": ("claude-enforcing",),
    "claude-enforcing": ("gates-passing", "needs-revision"),
    "gates-passing": ("ready-to-merge", "needs-revision"),
    "ready-to-merge": ("needs-revision",),
    "needs-revision": ("codex-building",),
}


class IllegalTransition(LeoError):
    """A label move the SOP does not allow."""


def current_state(labels: Iterable[str]) -> str | None:
    """The PR's state label, None when it has none; two at once is refused."""
    states = [name for name in labels if name in STATE_NAMES]
    if len(states) > 1:
        msg = (
            f"the PR carries {len(states)} state labels ({', '.join(states)}); remove all but "
            "one before LEO moves it"
        )
        raise IllegalTransition(msg)
    return states[0] if states else None


def check_move(current: str | None, target: str) -> None:
    """Raise ``IllegalTransition`` unless ``current → target`` is a legal move."""
    if target not in STATE_NAMES:
        msg = f"unknown state label {target!r}; the states are {', '.join(STATE_NAMES)}"
        raise IllegalTransition(msg)
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(TRANSITIONS[current])
        msg = (
            f"illegal label move {current or '(no state)'} → {target}; from "
            f"{current or '(no state)'} the SOP allows only: {allowed}"
        )
        raise IllegalTransition(msg)


def path_for_verdict(current: str | None, verdict: Decision, gates_passed: bool) -> list[str]:
    """The moves a finished verification makes: gates passed → ``gates-passing``; then PASS →
    ``ready-to-merge``, FAIL → ``needs-revision``; CONDITIONAL_PASS and ESCALATE stay put."""
    moves: list[str] = []
    state = current
    if gates_passed and state == "claude-enforcing" and verdict != "FAIL":
        moves.append("gates-passing")
        state = "gates-passing"
    target = {"PASS": "ready-to-merge", "FAIL": "needs-revision"}.get(verdict)
    if target is not None and state != target and target in TRANSITIONS.get(state, ()):
        moves.append(target)
    return moves


def labels_of(gh: Github, repository: str, number: int) -> list[str]:
    with api(f"reading the labels of #{number}"):
        issue = gh.get_repo(repository).get_issue(number)
        return [label.name for label in issue.get_labels()]


def move(gh: Github, repository: str, number: int, targets: Sequence[str]) -> str | None:
    """Move the PR through ``targets`` in order (each checked); return the final state."""
    labels = labels_of(gh, repository, number)
    state = current_state(labels)
    for target in targets:
        check_move(state, target)
        state = target
    if not targets:
        return state
    keep = [name for name in labels if name not in STATE_NAMES]
    with api(f"setting the labels of #{number}"):
        issue = gh.get_repo(repository).get_issue(number)
        issue.set_labels(*keep, targets[-1])  # PUT: idempotent, retried by the client
    return state


def sync(gh: Github, repository: str, specs: Sequence[LabelSpec] = STATES) -> list[str]:
    """Create or update the taxonomy's labels; return what was done, one line each."""
    from github.GithubException import GithubException

    repo = gh.get_repo(repository)
    with api(f"listing the labels of {repository}"):
        existing = {label.name: label for label in repo.get_labels()}
    done = []
    for spec in specs:
        label = existing.get(spec.name)
        if label is None:

            def create(spec: LabelSpec = spec) -> object:
                try:
                    return repo.create_label(spec.name, spec.color, spec.description)
                except GithubException as exc:
                    if exc.status == 422:  # created meanwhile (or by a lost response)
                        return repo.get_label(spec.name)
                    raise

            retry_write(f"creating label {spec.name}", create)
            done.append(f"created {spec.name}")
        elif (label.color or "").lower() != spec.color or (
            label.description or ""
        ) != spec.description:
            with api(f"updating label {spec.name}"):
                label.edit(spec.name, spec.color, spec.description)
            done.append(f"updated {spec.name}")
        else:
            done.append(f"unchanged {spec.name}")
    return done
