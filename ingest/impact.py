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

    def to_dict(self) -> dict:
        return {"doc_id": self.doc_id, "title": self.title, "in_force": self.in_force,
                "changed": self.changed, "answers": self.answers, "obligations": self.obligations}

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


def impact(settings, *, doc_id: str | None = None,
           questions: Path = DEFAULT_QUESTIONS) -> Impact:
    """The impact review of the latest (or the named) amending act."""
    assistant = Assistant.open(settings)
    act = latest_amending_act(assistant, doc_id)
    in_force, changed = changed_provisions(assistant, act.cite_as)
    result = Impact(act.id, act.title, in_force, changed)
    if not in_force:
        return result
    before = (date.fromisoformat(in_force) - timedelta(days=1)).isoformat()
    for line in questions.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        question = json.loads(line)["question"]
        old = assistant.ask(question, top_k=5, as_of=before)
        new = assistant.ask(question, top_k=5, as_of=in_force)
        old_refs = [c.ref for c in old.citations]
        new_refs = [c.ref for c in new.citations]
        if old_refs != new_refs or old.text != new.text:
            result.answers.append({"question": question, "before": old_refs, "after": new_refs})
    old_dates = {o.id: o for o in assistant.obligations(before)}
    for o in assistant.obligations(in_force):
        previous = old_dates.get(o.id)
        if previous is None or previous.applies_from != o.applies_from:
            result.obligations.append({"id": o.id, "title": o.title,
                                       "before": previous.applies_from if previous else "new",
                                       "after": o.applies_from})
    return result
