"""Carrying out `/mydata` and `/forget` from the outbox (see `responders/privacy.py`).

The export is built at send time from the database, so no copy of it is ever stored. The
erasure waits while anything is still pending to the citizen (the goodbye message needs their
address), for at most `GRACE`; then it erases regardless: erasure matters more than a goodbye.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from bots.base import Channel
from listening.models import OutboxItem
from listening.outbox import citizen_stream
from responders.case_records import queue_card
from responders.models import Case
from responders.texts import say
from townhall.db import Database
from townhall.domain import Address, OutboundMessage, SendError, utcnow
from townhall.erasure import Erasure, export_citizen, forget_citizen

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=45)  # within the outbox's first retries, so it always runs
CHUNK = 3500  # characters of JSON per message where a channel cannot send files


class PrivacyDesk:
    def __init__(self, db: Database, channels: Mapping[str, Channel]):
        self.db = db
        self.channels = channels

    async def send_export(self, payload: dict[str, Any]) -> str:
        address = Address.from_dict(payload["address"])
        data = await self.db.run(export_citizen, int(payload["citizen_id"]))
        content = json.dumps(data, ensure_ascii=False, indent=2).encode()
        caption = say("mydata_caption", str(payload.get("language") or "en"))
        channel = self.channels.get(address.channel)
        if channel is None:
            raise SendError(f"channel {address.channel!r} is not enabled", permanent=True)
        send_document = getattr(channel, "send_document", None)
        if send_document is not None:
            return str(await send_document(address, "my-data.json", content, caption))
        text = content.decode()
        sent = ""
        for start in range(0, len(text), CHUNK):  # e.g. X DMs: the JSON in numbered parts
            part = text[start:start + CHUNK]
            sent = await channel.send(OutboundMessage(address, part))
        return sent

    async def forget(self, payload: dict[str, Any]) -> str:
        citizen_id = int(payload["citizen_id"])
        stream = citizen_stream(Address.from_dict(payload["address"]))
        requested = datetime.fromisoformat(str(payload["requested_at"]))
        if utcnow() - requested < GRACE and await self.db.run(_pending, stream):
            raise SendError("waiting for the last messages to the citizen to be sent")
        erasure = await self.db.run(_forget, citizen_id)
        log.info("privacy: citizen %d erased (%d messages, %d cases, %d rows deleted)",
                 citizen_id, erasure.messages, erasure.cases, erasure.deleted)
        return str(citizen_id)


def _pending(session: Session, stream: str) -> bool:
    return session.exec(
        select(OutboxItem.id).where(OutboxItem.stream == stream, OutboxItem.status == "pending")
    ).first() is not None


def _forget(session: Session, citizen_id: int) -> Erasure:
    opened = session.exec(select(Case).where(Case.citizen_id == citizen_id)).all()
    erasure = forget_citizen(session, citizen_id)
    for case in opened:  # their cards show the erased text from now on
        queue_card(session, case)
    # the request's own payload named the address: keep only the citizen id
    for item in session.exec(select(OutboxItem).where(
        col(OutboxItem.stream) == f"privacy:{citizen_id}"
    )).all():
        item.payload = {"citizen_id": citizen_id}
        session.add(item)
    return erasure
