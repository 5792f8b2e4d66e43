"""The composition root: builds every part from the settings and runs them in one event loop.

Only this module knows all the packages. Everything else receives what it needs through its
constructor, so tests can build the same application around fakes and a throwaway database.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, timedelta
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bots.base import Channel
from classifiers.category import CategoryStage, build_category_model, load_categories
from classifiers.pipeline import Pipeline
from listening.alert_desk import AlertDesk
from listening.alerts import TrendsJob
from listening.digest_desk import DigestDesk
from listening.ingest import Ingestor
from listening.outbox import Outbox, RetryPolicy, enqueue
from listening.queries import ListeningQueries
from listening.trends import Rules
from polls.announcements import Announcements
from polls.consultation_commands import ConsultationCommands
from polls.consultation_desk import ConsultationDesk
from polls.consultation_responder import ConsultationResponder
from polls.consultation_store import StatementLimits
from polls.consultations import ConsultationService
from polls.desk import PollDesk
from polls.sending import PollSender
from polls.service import PollForms, PollService, PollVoteResponder
from polls.subscriptions import SubscriptionResponder, Topics
from responders.abuse import AbuseResponder
from responders.blocking import CitizenBlocks
from responders.case_feedback import CaseFeedbackResponder
from responders.chain import ResponderChain
from responders.commands import CommandResponder
from responders.escalation import EscalationResponder
from responders.faq import FaqEntry, FaqMatcher, FaqResponder
from responders.faq_admin import draft_from_case
from responders.faq_dialogue import FaqDialogueResponder
from responders.faq_match import Policy
from responders.flood import FloodResponder, FloodRules
from responders.followup import AttachmentResponder, FollowUpResponder
from responders.knowledge import KnowledgeBase
from responders.language import LanguageResponder
from responders.privacy import PrivacyResponder
from responders.queue_report import QueueReport
from responders.retraining import CategoryRetrainer, latest_model_dir, trained_at_of
from responders.staff_commands import StaffCommands
from responders.triage import Triage
from townhall.case_parts import CaseParts
from townhall.channels import build_slack, build_telegram, build_x
from townhall.db import Database
from townhall.domain import OutboundMessage, SendError, StaffAction
from townhall.jobs import RunningJobs, schedule_jobs
from townhall.models import Models
from townhall.privacy import Pseudonymizer
from townhall.privacy_desk import PrivacyDesk
from townhall.settings import Settings
from townhall.web import WebServer, build_web_app

log = logging.getLogger(__name__)

HEALTH_PROBE_SECONDS = 2.0  # a database slower than this to answer `SELECT 1` counts as down


class Townhall:
    def __init__(self, settings: Settings, models: Models):
        self.settings = settings
        self.db = Database(settings.database_url)
        outbox_settings = settings.outbox
        self.outbox = Outbox(
            self.db,
            retry=RetryPolicy(
                outbox_settings.max_attempts, outbox_settings.base_delay, outbox_settings.max_delay
            ),
            concurrency=outbox_settings.concurrency,
            poll_interval=outbox_settings.poll_interval,
            lease_seconds=outbox_settings.lease_seconds,
        )
        self.categories = load_categories(settings.classifiers.categories_path)
        trained = latest_model_dir(settings.data_dir / "models")
        self.category_stage = CategoryStage(
            build_category_model(
                settings.classifiers.categories_path, models.encode_examples, trained
            )
        )
        self.pipeline = Pipeline(
            models.stages(self.category_stage), batch_size=settings.classifiers.batch_size
        )
        # config/faq.yaml now; the database's entries are merged in at start (`reload`)
        self.knowledge = KnowledgeBase.from_file(self.db, settings.faq.path)
        default_language, entries = self.knowledge.default_language, self.knowledge.entries()
        matcher = FaqMatcher(entries, models.encode_examples)
        multilingual = (
            FaqMatcher(entries, models.encode_examples_multilingual)
            if models.multilingual is not None else None
        )
        self.knowledge.on_change(lambda merged: self._rebuild_faq(merged, matcher, multilingual))
        self.topics = Topics.from_names(settings.polls.topics, settings.polls.neighbourhoods)
        has_console = settings.slack.enabled and bool(settings.slack.triage_channel)
        self.polls = PollService(
            self.db, self.outbox, self.topics, tally_seconds=settings.polls.tally_seconds,
            max_open=timedelta(days=settings.polls.max_open_days),
            console=has_console,
        )
        consult = settings.consultations
        self.consultations = ConsultationService(
            self.db, self.outbox, self.topics, data_dir=settings.data_dir,
            limits=StatementLimits(consult.statements_per_consultation, consult.statements_per_day),
            draft_minutes=consult.draft_minutes, report_channel=consult.report_channel,
            slack=has_console,
        )
        self.case_parts = CaseParts.build(
            settings, self.db, self.outbox, [c.id for c in self.categories],
            models.encoder.dimension,
        )
        self.cases = self.case_parts.cases
        escalation = EscalationResponder(
            self.cases, matcher, abuse_threshold=settings.classifiers.abuse_threshold,
            merger=self.case_parts.merger,
        )
        faq_settings = settings.faq
        faq = FaqResponder(
            matcher, threshold=faq_settings.threshold, margin=faq_settings.margin,
            min_similarity=faq_settings.min_similarity, default_language=default_language,
            multilingual=multilingual,
            multilingual_policy=Policy(
                faq_settings.multilingual_threshold, faq_settings.multilingual_margin,
                faq_settings.multilingual_min_similarity,
            ),
        )
        chain = ResponderChain(
            [
                PollVoteResponder(self.polls),
                FloodResponder(self.db, FloodRules(**settings.abuse.model_dump())),
                ConsultationResponder(self.consultations),  # sees commands: cancels a draft
                LanguageResponder(self.db),
                SubscriptionResponder(self.db, self.topics),
                PrivacyResponder(self.db),  # /mydata, /forget
                CaseFeedbackResponder(self.case_parts.feedback),  # /reopen, ratings, comments
                CommandResponder(self.cases, city_name=settings.city_name),
                FollowUpResponder(self.cases),
                AttachmentResponder(),
                AbuseResponder(
                    settings.classifiers.abuse_policy, settings.classifiers.abuse_reply,
                    escalation, threshold=settings.classifiers.abuse_threshold,
                ),
                FaqDialogueResponder(self.db, escalation, self.knowledge.get, faq.answer),
                faq,
                escalation,
            ]
        )
        key = settings.security.pseudonym_key
        self.ingestor = Ingestor(
            db=self.db,
            pipeline=self.pipeline,
            chain=chain,
            outbox=self.outbox,
            pseudonymize=Pseudonymizer.from_key_or_file(
                key.get_secret_value() if key else None, settings.data_dir / "pseudonym.key"
            ),
            default_language=settings.default_language,
            keep_vectors=settings.trends.enabled,
        )
        self.telegram = build_telegram(settings)
        self.console = build_slack(
            settings,
            faq_draft=lambda case_id: draft_from_case(self.cases, case_id),
            commands=lambda text, staff_id: self.staff_commands.run(text, staff_id),
            polls=PollForms(self.polls),
            canned_draft=self.case_parts.canned_draft,
        )
        # keyword listening queries, shared by the X adapter and `/townhall listen`
        self.listening_queries = ListeningQueries(self.db, settings.x.listen_queries)
        self.x = build_x(
            settings, self.db, self.listening_queries.active,
            self.notify_staff if self.console is not None else None,
        )
        self.channels: dict[str, Channel] = {
            channel.name: channel for channel in (self.telegram, self.x) if channel is not None
        }
        self.staff_commands = StaffCommands(
            self.listening_queries if self.x else None,
            Announcements(self.db, self.outbox, self.topics),
            ConsultationCommands(
                self.consultations, max_open_days=settings.polls.max_open_days
            ).consult_command,
            QueueReport(self.db, self.cases.queues, self.cases.calendar),
            CitizenBlocks(self.db, self.outbox).unblock_command,
        )
        names = {c.id: c.name for c in self.categories}
        self.triage = (
            Triage(
                self.cases, self.console, names, knowledge=self.knowledge,
                merger=self.case_parts.merger, canned=self.case_parts.canned,
                fetch_file=self._fetch_file, max_photo_bytes=settings.cases.max_photo_bytes,
                max_attachments=settings.cases.max_attachments,
                redact=settings.privacy.redact_cards,
            )
            if self.console else None
        )
        trends = settings.trends
        self.trends = TrendsJob(
            self.db, self.outbox, rules=Rules.from_settings(trends),
            threshold=trends.topic_similarity, dimension=models.encoder.dimension,
        )
        self.alerts = (
            AlertDesk(
                self.db, self.outbox, self.console, categories=names,
                channel=trends.alerts_channel, window_minutes=int(trends.window_minutes),
            )
            if self.console else None
        )
        self.poll_sender = PollSender(
            self.db, self.outbox, self.channels, tally_seconds=settings.polls.tally_seconds
        )
        self.poll_desk = PollDesk(self.db, self.console, self.polls) if self.console else None
        self.consultation_desk = (
            ConsultationDesk(self.db, self.console, self.consultations,
                             channel=consult.moderation_channel)
            if self.console else None
        )
        self.digests = DigestDesk(self.db, self.outbox, self.console, settings)
        self.outbox.register("message", self._send_message)
        if self.triage is not None:
            self.outbox.register("card", self.triage.deliver_card)
            self.outbox.register("note", self.triage.deliver_note)
            self.outbox.register("notice", self.triage.deliver_notice)
            self.outbox.register("card_moved", self.triage.deliver_card_moved)
            self.outbox.register("case_photo", self.triage.deliver_photo)
            self.outbox.register("sla_notice", self.triage.deliver_sla_notice)
        if self.case_parts.open311 is not None:
            self.outbox.register("open311_submit", self.case_parts.open311.submit)
        if self.alerts is not None:
            self.outbox.register("alert", self.alerts.deliver)
        self.privacy = PrivacyDesk(self.db, self.channels)
        self.outbox.register("data_export", self.privacy.send_export)
        self.outbox.register("forget", self.privacy.forget)
        self.outbox.register("poll", self.poll_sender.deliver)
        self.outbox.register("poll_stop", self.poll_sender.stop)
        if self.poll_desk is not None:
            self.outbox.register("poll_card", self.poll_desk.deliver_card)
            self.outbox.register("poll_chart", self.poll_desk.deliver_chart)
        if self.consultation_desk is not None:
            desk = self.consultation_desk
            self.outbox.register("statement_card", desk.deliver_statement_card)
            self.outbox.register("consult_report", desk.deliver_report)
            self.outbox.register("consult_file", desk.deliver_report_file)
        if self.console is not None:
            self.outbox.register("digest", self.digests.deliver_summary)
            self.outbox.register("digest_report", self.digests.deliver_report)
        self.retrainer = CategoryRetrainer(
            db=self.db,
            stage=self.category_stage,
            categories=self.categories,
            encode=models.encoder.encode,
            models_dir=settings.data_dir / "models",
            min_corrections=settings.classifiers.retrain_min_corrections,
            announce=self.notify_staff if self.triage is not None else None,
            trained_at=trained_at_of(trained),
        )
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.jobs = RunningJobs()
        self.web = WebServer(
            build_web_app(
                health=self.health,
                slack=self.console if self.console and not settings.slack.socket_mode else None,
                telegram=self.telegram if settings.telegram.webhook_url else None,
            ),
            settings.http.host,
            settings.http.port,
        )

    @staticmethod
    async def _rebuild_faq(
        entries: list[FaqEntry], *matchers: FaqMatcher | None
    ) -> None:
        """Refit the FAQ matchers on the merged knowledge base (an entry was added from Slack),
        on a worker thread: encoding new questions and refitting take a moment."""
        for matcher in matchers:
            if matcher is not None and matcher.entries != entries:
                await asyncio.to_thread(matcher.rebuild, entries)

    async def _send_message(self, payload: dict[str, Any]) -> str:
        message = OutboundMessage.from_dict(payload)
        channel = self.channels.get(message.address.channel)
        if channel is None:
            raise SendError(f"channel {message.address.channel!r} is not enabled")
        return await channel.send(message)

    async def _fetch_file(self, channel_name: str, ref: str, max_bytes: int) -> bytes:
        """A file a citizen shared (a photo), from the channel it was shared on."""
        channel = self.channels.get(channel_name)
        fetch = getattr(channel, "fetch_file", None)
        if fetch is None:
            raise SendError(f"{channel_name} files cannot be fetched", permanent=True)
        return await fetch(ref, max_bytes)

    async def _on_staff_action(self, action: StaffAction) -> None:
        """Alert buttons go to the alert desk, everything else to case triage."""
        if action.alert_id is not None and self.alerts is not None:
            await self.alerts.handle(action)
        elif action.poll_id is not None and self.poll_desk is not None:
            await self.poll_desk.handle(action)
        elif action.statement_id is not None and self.consultation_desk is not None:
            await self.consultation_desk.handle_statement_action(
                action.kind, action.statement_id, action.staff_id
            )
        elif self.triage is not None:
            await self.triage.handle(action)

    async def notify_staff(self, text: str) -> None:
        """A notice for staff in the triage channel, delivered through the outbox."""
        key = f"notice:{uuid.uuid4().hex}"
        await self.db.run(
            lambda s: enqueue(s, key=key, kind="notice", stream="console:notice",
                              payload={"text": text})
        )
        self.outbox.wake()

    async def start(self) -> None:
        """Start everything; when this returns the bot is answering.

        Raises `SchemaOutOfDate` when a shared database needs `townhall db upgrade` first.
        """
        await asyncio.to_thread(self.db.ensure_schema)
        await self.knowledge.reload()  # the FAQ entries staff added, now that the schema is there
        await self.outbox.start()
        await self.web.start()
        for channel in self.channels.values():
            await channel.start(self.ingestor)
        if self.console is not None and self.triage is not None:
            await self.console.start(self._on_staff_action)
        if self.case_parts.open311 is not None:
            for problem in await self.case_parts.open311.validate():
                if self.console is not None:
                    await self.notify_staff(f":warning: 311 link: {problem}")
        schedule_jobs(self)
        self.scheduler.start()

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.pause()  # no new runs; the running ones get a moment to finish
            await self.jobs.finish(timeout=2.0)
            self.scheduler.shutdown(wait=False)
        for channel in self.channels.values():
            await channel.stop()
        if self.console is not None:
            await self.console.stop()
        await self.web.stop()
        await self.outbox.stop()
        await self.pipeline.close()
        if self.case_parts.open311 is not None:
            await self.case_parts.open311.client.aclose()
        self.db.close()

    async def health(self) -> dict[str, object]:
        """Healthy when the database answers a probe within 2 s and the bot's own last unit of
        work reached it (a locked SQLite file still answers reads while every write fails)."""
        try:
            await asyncio.wait_for(self.db.probe(), timeout=HEALTH_PROBE_SECONDS)
            database = self.db.unavailable is None
        except Exception:  # any driver error or a timeout means "not reachable now"
            database = False
        return {
            "ok": database,
            "database": database,
            "channels": sorted(self.channels),
            "console": self.console.name if self.console else None,
        }
