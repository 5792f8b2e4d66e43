"""Personal details never reach a log line; the redaction is a handler filter."""

import logging

from townhall.log_redaction import RedactingFilter
from townhall.redact import redact_personal


def test_addresses_phones_and_emails_are_replaced() -> None:
    text = "Flooding at 12 Elm St. and 1600 Pennsylvania Avenue NW, call (555) 010-9999 or jo@x.org"
    assert redact_personal(text) == (
        "Flooding at [address] and [address] NW, call [phone] or [email]")
    assert redact_personal("Bus 12 was late on 2026-11-30") == "Bus 12 was late on 2026-11-30"
    assert redact_personal("interval[0:00:00.600000]") == "interval[0:00:00.600000]"


def test_a_handler_with_the_filter_writes_no_personal_detail(caplog) -> None:
    logger = logging.getLogger("townhall.test.redaction")
    caplog.handler.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("refused a message from %s: %r", "ana@example.org", "I live at 7 Mill Road")
        logger.info("nothing personal in %d messages", 3)
    assert caplog.messages == ["refused a message from [email]: 'I live at [address]'",
                               "nothing personal in 3 messages"]
