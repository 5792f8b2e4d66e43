"""A logging filter that keeps residents' personal details out of the logs.

Log lines sometimes quote what a resident wrote (a refused request, a failed send); logs are
kept longer and read by more people than the database, so e-mail addresses, phone numbers,
@handles and street addresses are replaced before any handler writes the record. Secrets never
reach a log line in the first place: settings hold them as `SecretStr`.
"""

from __future__ import annotations

import logging

from townhall.redact import redact_personal


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed format: leave it to the handler
            return True
        cleaned = redact_personal(message)
        if cleaned != " ".join(message.split()):
            record.msg, record.args = cleaned, ()
        return True


def install(handler: logging.Handler) -> None:
    handler.addFilter(RedactingFilter())
