"""Turning a case into an FAQ entry: the draft the staff's form starts from, and the form back.

A question staff had to answer by hand is the best candidate for the FAQ: the citizen's own words
are an example question and the staff's reply is a reviewed answer. The console shows the draft,
staff edit it, and the submitted form comes back as a `faq_add` staff action.
"""

from __future__ import annotations

import json

from responders.cases import CaseError, CaseService
from responders.faq import FaqEntry
from responders.faq_store import slugify
from townhall.domain import FaqDraft


async def draft_from_case(cases: CaseService, case_id: int) -> FaqDraft:
    """The citizen's message that opened the case, the last staff reply on it, and an id."""
    view = await cases.view(case_id, history=0)
    replies = [e.text for e in view.events if e.kind == "replied" and e.text]
    question = view.case.summary.strip()
    return FaqDraft(
        question=question,
        answer=replies[-1] if replies else "",
        entry_id=slugify(question),
    )


def entry_from_form(text: str, category: str | None) -> FaqEntry:
    """The entry a submitted "Add to FAQ" form describes (validation is the store's job)."""
    try:
        form = json.loads(text)
    except ValueError as exc:
        raise CaseError("The Add to FAQ form could not be read.") from exc
    if not isinstance(form, dict):
        raise CaseError("The Add to FAQ form could not be read.")
    return FaqEntry(
        id=str(form.get("id") or "").strip(),
        questions=(str(form.get("question") or ""),),
        answer=str(form.get("answer") or ""),
        category=category or "other",
    )
