"""The weekly digest end to end: residents write on Telegram, the digest job writes the report
and posts its summary to Slack with the HTML report uploaded in the summary's thread."""

from datetime import UTC, datetime, timedelta

from listening.digest_weeks import week_label_of
from townhall.testing.harness import TRIAGE_CHANNEL, Harness

MESSAGES = [
    "When is my garbage picked up?",
    "There is a huge pothole on Maple Avenue that damaged my car",
    "The streetlight on 3rd street has been out for a week",
]


async def test_the_digest_is_written_and_posted_with_its_report(harness: Harness) -> None:
    for k, text in enumerate(MESSAGES):
        harness.telegram.user_sends(text, user_id=7300 + k)
    for k in range(len(MESSAGES)):
        await harness.wait_for_reply(7300 + k, timeout=20)

    week = week_label_of(datetime.now(UTC).date())
    result = await harness.bot.digests.run(week=week)
    assert result.summary.messages == len(MESSAGES)
    assert result.files.html.exists() and result.files.markdown.exists()
    assert result.files.html.parent == harness.settings.digest.out_dir

    slack = harness.slack
    summary = await slack.wait_for(lambda: next(
        (m for m in slack.messages(TRIAGE_CHANNEL) if week in m.get("text", "")
         and m.get("blocks")), None), timeout=10)
    report = await slack.wait_for(lambda: next(
        (m for m in slack.thread(TRIAGE_CHANNEL, summary["ts"])[1:] if m.get("files")), None),
        timeout=10)
    [shared] = report["files"]
    assert shared["name"] == result.files.html.name
    upload = slack.ws.uploads[shared["id"]]
    assert upload.content == result.files.html.read_bytes()
    assert b"not a representative sample" in upload.content

    # the same week again (another replica, a restart): the files are rewritten, nothing reposted
    await harness.bot.digests.run(week=week)
    await harness.outbox_settled()
    posted = [m for m in slack.messages(TRIAGE_CHANNEL) if week in m.get("text", "")]
    assert len(posted) == 1


async def test_a_digest_missed_while_down_is_made_at_start_once(harness: Harness) -> None:
    harness.telegram.user_sends(MESSAGES[0], user_id=7400)
    await harness.wait_for_reply(7400, timeout=20)
    now = datetime.now(UTC)
    assert await harness.bot.digests.catch_up(now=now.replace(year=now.year - 1)) is None

    later = now + timedelta(days=8)  # the week of the message is over and its digest is due
    result = await harness.bot.digests.catch_up(now=later)
    assert result is not None and result.summary.week == week_label_of(now.date())
    assert await harness.bot.digests.catch_up(now=later) is None
    await harness.outbox_settled()
    assert [m for m in harness.slack.messages(TRIAGE_CHANNEL) if result.summary.week in m["text"]]
