"""What an amending act did to the product: provisions changed, answers whose citations
change, obligations whose dates change, so a maintainer can review before publishing.

Compares the knowledge base the day before the act entered into force with the day it did.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from kb.assistant import Assistant
from kb.errors import UnknownDocument
from kb.records import Kind
from kb.register import Register

DEFAULT_QUESTIONS = Path(__file__).resolve().parent.parent / "eval" / "questions.jsonl"


@dataclass
class Impact:
    """The review of one amending act."""

    doc_id: str
    title: str
    in_force: str
    changed: list[dict] = field(default_factory=list)  # ref, change, source
    answers: list[dict] = field(default_factory=list)  # question, before, after
    obligations: list[dict] = field(default_factory=list)  # id, title, before, after
    systems: list[dict] = field(default_factory=list)  # registered systems: id, name, changes

    def to_dict(self) -> dict:
        return {"doc_id": self.doc_id, "title": self.title, "in_force": self.in_force,
                "changed": self.changed, "answers": self.answers, "obligations": self.obligations,
                "systems": self.systems}

    def to_markdown(self) -> str:
        lines = [f"# Impact of {self.title}", "", f"In force from {self.in_force}.", "",
                 f"## Provisions changed ({len(self.changed)})", ""]
        lines += [f"- {c['ref']}: {c['change']} ({c['source']})" for c in self.changed]
        lines += ["", f"## Answers whose citations change ({len(self.answers)})", ""]
        for a in self.answers:
            lines.append(f"- {a['question']}: {', '.join(a['before']) or 'abstained'} → "
                         f"{', '.join(a['after']) or 'abstained'}")
        lines += ["", f"## Obligations whose dates change ({len(self.obligations)})", ""]
        lines += [f"- {o['title']} ({o['id']}): {o['before']} → {o['after']}"
                  for o in self.obligations]
        lines += ["", f"## Registered AI systems whose assessment changes ({len(self.systems)})",
                  ""]
        for s in self.systems:
            lines.append(f"- {s['id']} {s['name']} ({s['owner']}): " + "; ".join(s["changes"]))
        return "\n".join(lines) + "\n"


def latest_amending_act(assistant: Assistant, doc_id: str | None = None):
    acts = [d for d in assistant.library.documents.values() if d.kind is Kind.AMENDING_REGULATION]
    if doc_id:
        acts = [d for d in acts if d.id == doc_id]
    if not acts:
        raise UnknownDocument(
            f"no amending act {doc_id!r} in the index" if doc_id else
            "no amending act in the index; add one with: python -m ingest add FILE --kind "
            "amending_regulation --amends eu-ai-act ..."
        )
    return max(acts, key=lambda d: d.date)


def changed_provisions(assistant: Assistant, source_prefix: str) -> tuple[str, list[dict]]:
    """(entry into force, the provisions whose versions come from the act)."""
    changed, in_force = [], ""
    library = assistant.library
    for p in library.all_versions(library.main_act()):
        if not p.version_source.startswith(source_prefix):
            continue
        in_force = in_force or p.valid_from or ""
        start = p.valid_from or ""
        earlier = [v for v in library.versions(p.ref) if (v.valid_from or "") < start]
        change = "deleted" if p.deleted else "replaced" if earlier else "inserted"
        entry = {"ref": p.ref, "change": change, "source": p.version_source}
        if p.parent and {**entry, "ref": p.parent} in changed:
            continue  # a point of a paragraph inserted or deleted as a whole
        changed.append(entry)
    return in_force, changed


def day_before(iso: str) -> str:
    return (date.fromisoformat(iso) - timedelta(days=1)).isoformat()


def obligation_changes(assistant: Assistant, before: str, after: str) -> list[dict]:
    """Obligations whose application date differs between two dates."""
    old_dates = {o.id: o for o in assistant.obligations(before)}
    changes = []
    for o in assistant.obligations(after):
        previous = old_dates.get(o.id)
        if previous is None or previous.applies_from != o.applies_from:
            changes.append({"id": o.id, "title": o.title,
                            "before": previous.applies_from if previous else "new",
                            "after": o.applies_from})
    return changes


def answer_changes(assistant: Assistant, questions: list[str], before: str,
                   after: str) -> list[dict]:
    """Questions whose answer text or citations differ between two dates."""
    changes = []
    for question in questions:
        old = assistant.ask(question, top_k=5, as_of=before)
        new = assistant.ask(question, top_k=5, as_of=after)
        old_refs = [c.ref for c in old.citations]
        new_refs = [c.ref for c in new.citations]
        if old_refs != new_refs or old.text != new.text:
            changes.append({"question": question, "before": old_refs, "after": new_refs})
    return changes


def read_questions(path: Path = DEFAULT_QUESTIONS) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def impact(settings, *, doc_id: str | None = None, questions: Path | None = DEFAULT_QUESTIONS,
           assistant: Assistant | None = None) -> Impact:
    """The impact review of the latest (or the named) amending act.

    ``questions=None`` skips replaying questions (the slow part): the review then lists the
    provisions and obligation dates that changed, and ``answers`` stays empty.
    """
    assistant = assistant or Assistant.open(settings)
    act = latest_amending_act(assistant, doc_id)
    in_force, changed = changed_provisions(assistant, act.cite_as)
    result = Impact(act.id, act.title, in_force, changed)
    if not in_force:
        return result
    before = day_before(in_force)
    if questions is not None:
        result.answers = answer_changes(assistant, read_questions(questions), before, in_force)
    result.obligations = obligation_changes(assistant, before, in_force)
    result.systems = system_changes(settings, assistant, before, in_force)
    return result


def system_changes(settings, assistant: Assistant, before: str, after: str) -> list[dict]:
    """Registered systems whose tier, obligations, dates or reasons differ between the two
    dates (``python -m kb register recheck`` flags them for review)."""
    register = Register.open(settings, assistant=assistant)
    return [{"id": system.id, "name": system.name, "owner": system.owner,
             "status": system.status.value, "needs_review": system.needs_review,
             "changes": diff.lines()}
            for system, diff in register.changes_between(before, after)]
