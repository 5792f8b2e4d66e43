"""Pseudonyms for citizens: a keyed hash of (channel, platform user id).

The key is a secret: with it, a known user id can be matched to its row (needed to recognise a
returning citizen); without it, the citizens table does not say who anyone is. It comes from
`TOWNHALL_SECURITY__PSEUDONYM_KEY`; a single-machine install without it gets a random key kept in
the data folder, created once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path

log = logging.getLogger(__name__)


class Pseudonymizer:
    def __init__(self, key: bytes):
        if len(key) < 16:
            raise ValueError("the pseudonym key must be at least 16 bytes")
        self._key = key

    def __call__(self, channel: str, user_id: str) -> str:
        message = f"{channel}\x1f{user_id}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:40]

    @classmethod
    def from_key_or_file(cls, key: str | None, key_file: Path) -> Pseudonymizer:
        if key:
            return cls(key.encode())
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            log.warning(
                "TOWNHALL_SECURITY__PSEUDONYM_KEY is not set: created %s. Set the variable when "
                "several replicas share a database.",
                key_file,
            )
        return cls(key_file.read_text().strip().encode())
