from townhall.redact import redact


def test_contact_details_are_replaced_and_dates_and_small_numbers_stay():
    text = ("Call  +44 20 7946 0958 or (555) 123-4567, mail jane.doe@example.org or ask @jane_doe;"
            " bus 42 at 10:30 on 2026-11-30 and 30.11.2026, 12 houses")
    assert redact(text) == (
        "Call [phone] or [phone], mail [email] or ask @[user]; bus 42 at 10:30 on 2026-11-30 "
        "and 30.11.2026, 12 houses"
    )


def test_a_number_followed_by_a_bracketed_count_keeps_the_bracket():
    assert redact("call 555-123-4567 (0)") == "call [phone] (0)"
