"""The review workflow: which action moves a system from which status to which, and who may.

    draft ──submit──▶ submitted ──approve──▶ approved
      ▲                  │ └──request_changes──▶ changes_requested ──submit──▶ submitted
      └────reopen────────┴───────────────────────── (approved or submitted → draft)

``approve`` and ``request_changes`` are reviewer actions (they need the reviewer token);
``request_changes`` needs a comment.  Pure functions: :mod:`kb.register.register` applies
them inside its transactions.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.errors import BadTransition, UnknownChoice
from kb.register.records import Status


@dataclass(frozen=True, slots=True)
class Rule:
    """One workflow action: the statuses it starts from, where it leads, who may take it."""

    action: str
    sources: tuple[Status, ...]
    target: Status
    reviewer: bool = False  # needs the reviewer token
    comment_required: bool = False
    verb: str = ""  # for messages: "approve", "submit"


RULES: dict[str, Rule] = {rule.action: rule for rule in (
    Rule("submit", (Status.DRAFT, Status.CHANGES_REQUESTED), Status.SUBMITTED, verb="submitted"),
    Rule("approve", (Status.SUBMITTED,), Status.APPROVED, reviewer=True, verb="approved"),
    Rule("request_changes", (Status.SUBMITTED,), Status.CHANGES_REQUESTED, reviewer=True,
         comment_required=True, verb="sent back for changes"),
    Rule("reopen", (Status.APPROVED, Status.SUBMITTED), Status.DRAFT, verb="reopened"),
)}
DECISIONS = {"approve": "approve", "changes": "request_changes"}  # --decision → action
# Checklist evidence and the assessment are edited while the owner prepares the system.
EDITABLE = (Status.DRAFT, Status.CHANGES_REQUESTED, Status.APPROVED)


def rule(action: str) -> Rule:
    if action not in RULES:
        raise UnknownChoice(f"unknown workflow action {action!r}; valid: {', '.join(RULES)}")
    return RULES[action]


def decision_action(decision: str) -> str:
    """A reviewer's --decision (approve|changes) as its workflow action."""
    key = decision.strip().lower()
    if key not in DECISIONS:
        raise UnknownChoice(f"unknown decision {decision!r}; valid: approve, changes")
    return DECISIONS[key]


def transition(system_id: int, status: Status, action: str) -> Status:
    """The status after ``action``, or BadTransition saying which statuses allow it.

    >>> transition(1, Status.DRAFT, "submit")
    <Status.SUBMITTED: 'submitted'>
    """
    r = rule(action)
    if status not in r.sources:
        allowed = " or ".join(s.value.replace("_", " ") for s in r.sources)
        raise BadTransition(
            f"system {system_id} is {status.value.replace('_', ' ')}; only a system that is "
            f"{allowed} can be {r.verb}")
    return r.target


def check_editable(system_id: int, status: Status, what: str) -> None:
    """BadTransition while a reviewer has the system (submitted): nothing may change then."""
    if status not in EDITABLE:
        raise BadTransition(
            f"system {system_id} is submitted for review; its {what} cannot change until a "
            f"reviewer decides, or it is reopened (python -m kb register reopen {system_id})")
