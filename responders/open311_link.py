"""The link to the city's 311 system (Open311 GeoReport v2): cases go in, status comes back.

A case whose category is mapped to a `service_code` is posted as a service request through the
outbox (so it is posted once, retried on 5xx/429/timeouts, and survives restarts); its
`service_request_id` is stored on the case. A scheduled job reads each open request back and
turns a change of status, notes or expected date into a notification for every reporter and a
card update; a request the city closes resolves the case. Whatever the 311 system answers, the
case stays in Slack: errors are shown on its card, never raised past it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from listening.outbox import Outbox, enqueue
from responders.case_records import case_stream, log_event, notify_reporters, queue_card
from responders.cases import CaseService
from responders.models import Case
from responders.open311 import Open311Client, Open311Error, ServiceRequest
from responders.texts import say
from townhall.domain import CaseStatus, SendError

log = logging.getLogger(__name__)

TOKEN = "token:"  # a request the city has not given an id yet (batch services)
ACTOR = "open311"


@dataclass(frozen=True)
class _Change:
    case_id: int
    closed: bool
    notes: str | None


class Open311Link:
    def __init__(
        self, cases: CaseService, outbox: Outbox, client: Open311Client,
        services: dict[str, str], *, default_address: str = "",
    ):
        self.cases = cases
        self.db = cases.db
        self.outbox = outbox
        self.client = client
        self.services = dict(services)  # category -> service_code
        self.default_address = default_address

    async def validate(self) -> list[str]:
        """Problems with the category -> service mapping, read from GET services.json; logged
        at start. An unreachable 311 system is a problem too, but not a reason not to start."""
        try:
            offered = {service.code for service in await self.client.services()}
        except Open311Error as exc:
            problems = [f"the 311 system's service list cannot be read: {exc}"]
        else:
            problems = [
                f"category {category!r} is mapped to service_code {code!r}, which the 311 "
                "system does not offer"
                for category, code in self.services.items() if code not in offered
            ]
        for problem in problems:
            log.error("open311: %s", problem)
        return problems

    # --- outbox handler -------------------------------------------------------------------------

    async def submit(self, payload: dict[str, Any]) -> str:
        """Post the case as a service request (outbox kind `open311_submit`)."""
        case: Case | None = await self.db.run(lambda s: s.get(Case, int(payload["case_id"])))
        if case is None or case.id is None or case.service_request_id:
            return case.service_request_id or "" if case else ""
        code = self.services.get(case.category or "")
        if code is None:
            return ""  # recategorized since: nothing to file
        located = case.latitude is not None and case.longitude is not None
        if not located and not self.default_address:
            await self._record_error(
                case.id, "Not sent to the 311 system yet: it needs a location. Ask the citizen "
                "to share one; the case is sent as soon as it has one.")
            return ""
        try:
            submitted = await self.client.create_request(
                service_code=code, description=case.summary[:4000] or "(photo)",
                lat=case.latitude if located else None, long=case.longitude if located else None,
                address=None if located else self.default_address,
                account_id=f"townhall-{case.citizen_id}",
            )
        except Open311Error as exc:
            await self._record_error(case.id, f"311 system: {exc}")
            if exc.permanent:
                return ""
            raise SendError(f"open311: {exc}", retry_after=exc.retry_after) from exc
        request_id = submitted.request_id or f"{TOKEN}{submitted.token}"
        await self.db.run(self._submitted, case.id, request_id, submitted.notice)
        self.outbox.wake()
        return request_id

    def _submitted(
        self, session: Session, case_id: int, request_id: str, notice: str | None
    ) -> None:
        case = session.get(Case, case_id)
        if case is None:
            return
        case.service_request_id = request_id
        case.open311_status = "submitted"
        case.open311_notes = notice
        case.open311_error = None
        log_event(session, case, ACTOR, "open311_submitted", request_id)
        queue_card(session, case)

    async def _record_error(self, case_id: int, error: str) -> None:
        def work(session: Session) -> None:
            case = session.get(Case, case_id)
            if case is None or case.open311_error == error:
                return
            case.open311_error = error
            log_event(session, case, ACTOR, "open311_error", error)
            queue_card(session, case)

        await self.db.run(work)
        self.outbox.wake()

    # --- the scheduled read-back ------------------------------------------------------------------

    async def poll(self) -> int:
        """Read every open case's request back; how many changed."""

        def open_requests(session: Session) -> list[tuple[int, str]]:
            rows = session.exec(
                select(Case.id, Case.service_request_id).where(
                    col(Case.service_request_id).is_not(None),
                    Case.status != CaseStatus.RESOLVED.value,
                )
            ).all()
            return [(int(i), str(r)) for i, r in rows if i is not None]

        changed = 0
        for case_id, request_id in await self.db.run(open_requests):
            try:
                if request_id.startswith(TOKEN):
                    found = await self.client.request_id_for_token(request_id[len(TOKEN):])
                    if found:
                        await self.db.run(self._submitted, case_id, found, None)
                    continue
                request = await self.client.get_request(request_id)
            except Open311Error as exc:
                log.warning("open311: reading %s failed: %s", request_id, exc)
                if exc.permanent:
                    await self._record_error(case_id, f"311 system: {exc}")
                continue
            change = await self.db.run(self._apply, case_id, request)
            if change is None:
                continue
            changed += 1
            if change.closed:
                note = change.notes or None
                await self.cases.resolve(case_id, ACTOR, note=note,
                                         key=f"open311:{request_id}:closed")
        if changed:
            self.outbox.wake()
        return changed

    def _apply(self, session: Session, case_id: int, request: ServiceRequest) -> _Change | None:
        """Store what changed in the request; tell the reporters unless it closed (resolving the
        case tells them then)."""
        case = session.get(Case, case_id)
        if case is None:
            return None
        seen = (case.open311_status, case.open311_notes, case.open311_expected)
        now = (request.status, request.status_notes, request.expected_datetime)
        if seen == now:
            return None
        first_reading = case.open311_status is None
        case.open311_status, case.open311_notes, case.open311_expected = now
        if first_reading and now == ("open", None, None):  # just filed: nothing new to tell
            queue_card(session, case)
            return None
        case.open311_error = None
        log_event(session, case, ACTOR, "open311_update",
                  f"{request.status}" + (f": {request.status_notes}" if request.status_notes
                                          else ""))
        closed = request.status == "closed"
        if not closed:
            expected = request.expected_datetime
            notify_reporters(
                session, case, f"open311:{case_id}:{request.updated_datetime or now}",
                lambda lang: say(
                    "case_311_update", lang, ref=case.reference,
                    status=say("case_311_open", lang),
                    notes=f" {request.status_notes}" if request.status_notes else "",
                    expected=say("case_311_expected", lang, date=expected.strftime("%Y-%m-%d"))
                    if expected else "",
                ),
            )
            enqueue(
                session, key=f"note:open311:{case_id}:{request.updated_datetime or now}",
                kind="note", stream=case_stream(case_id),
                payload={"case_id": case_id,
                         "text": f"311 update: {request.status}"
                         + (f" - {request.status_notes}" if request.status_notes else "")},
            )
        queue_card(session, case)
        return _Change(case_id, closed, request.status_notes)
