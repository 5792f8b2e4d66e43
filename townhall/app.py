"""The composition root: builds every part from the settings and runs them in one event loop.

Only this module knows all the packages. Everything else receives what it needs through its
constructor, so tests can build the same application around fakes and a throwaway database.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bots.base import Channel
from bots.slack import SlackConsole
from bots.telegram import TelegramChannel
from classifiers.affect import DEFAULT_MODEL, TweetStage
from classifiers.base import Stage
from classifiers.category import CategoryStage, build_category_model, load_categories
from classifiers.encoder import MiniLMEncoder
from classifiers.language import LanguageStage
from classifiers.multilingual import DEFAULT_MODEL as MULTILINGUAL_MODEL
from classifiers.multilingual import MultilingualSentimentStage
from classifiers.pipeline import Pipeline
from listening.ingest import Ingestor
from listening.outbox import Outbox, RetryPolicy, enqueue
from responders.abuse import AbuseResponder
from responders.cases import CaseService
from responders.chain import ResponderChain
from responders.commands import CommandResponder
from responders.escalation import EscalationResponder
from responders.faq import FaqMatcher, FaqResponder, load_knowledge_base
from responders.followup import FollowUpResponder
from responders.language import LanguageResponder
from responders.retraining import CategoryRetrainer, latest_model_dir, trained_at_of
from responders.triage import Triage
from townhall.db import Database
from townhall.domain import OutboundMessage, SendError
from townhall.privacy import Pseudonymizer
from townhall.settings import Settings
from townhall.web import WebServer, build_web_app

log = logging.getLogger(__name__)


@dataclass
class Models:
    """The loaded models. Loading takes seconds, so a process (or a test session) does it once."""

    encoder: MiniLMEncoder
    language: LanguageStage
    tweet: TweetStage | None = None
    multilingual: MultilingualSentimentStage | None = None
    _examples: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls) -> Models:
        tweet = None
        if (DEFAULT_MODEL / "weights.safetensors").exists():
            tweet = TweetStage(DEFAULT_MODEL)
        else:
            log.warning("no tweet model at %s: sentiment and abuse are off", DEFAULT_MODEL)
        multilingual = None
        if (MULTILINGUAL_MODEL / "head.npz").exists():
            multilingual = MultilingualSentimentStage(MULTILINGUAL_MODEL)
        return cls(
            encoder=MiniLMEncoder(), language=LanguageStage(), tweet=tweet,
            multilingual=multilingual,
        )

    def encode_examples(self, texts: list[str]) -> np.ndarray:
        """Embeddings of knowledge-base examples, remembered: a rebuilt app reuses them."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._examples]
        if missing:
            self._examples.update(zip(missing, self.encoder.encode(missing), strict=True))
        return np.vstack([self._examples[t] for t in texts])


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
        )
        self.categories = load_categories(settings.classifiers.categories_path)
        trained = latest_model_dir(settings.data_dir / "models")
        self.category_stage = CategoryStage(
            build_category_model(
                settings.classifiers.categories_path, models.encode_examples, trained
            )
        )
        stages: list[Stage] = [models.language, models.encoder, self.category_stage]
        stages += [stage for stage in (models.tweet, models.multilingual) if stage is not None]
        self.pipeline = Pipeline(stages, batch_size=settings.classifiers.batch_size)
        default_language, entries = load_knowledge_base(settings.faq.path)
        matcher = FaqMatcher(entries, models.encode_examples)
        self.cases = CaseService(
            self.db, self.outbox, city_name=settings.city_name,
            prefix=settings.cases.reference_prefix,
            categories=[c.id for c in self.categories],
        )
        escalation = EscalationResponder(
            self.cases, matcher, abuse_threshold=settings.classifiers.abuse_threshold
        )
        chain = ResponderChain(
            [
                LanguageResponder(self.db),
                CommandResponder(self.cases, city_name=settings.city_name),
                FollowUpResponder(self.cases),
                AbuseResponder(
                    settings.classifiers.abuse_policy, settings.classifiers.abuse_reply,
                    escalation, threshold=settings.classifiers.abuse_threshold,
                ),
                FaqResponder(
                    matcher, threshold=settings.faq.threshold, margin=settings.faq.margin,
                    default_language=default_language,
                ),
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
        )
        self.channels: dict[str, Channel] = {}
        self.telegram = self._build_telegram()
        self.console = self._build_slack()
        names = {c.id: c.name for c in self.categories}
        self.triage = Triage(self.cases, self.console, names) if self.console else None
        self.outbox.register("message", self._send_message)
        if self.triage is not None:
            self.outbox.register("card", self.triage.deliver_card)
            self.outbox.register("note", self.triage.deliver_note)
            self.outbox.register("notice", self.triage.deliver_notice)
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
        self.web = WebServer(
            build_web_app(
                health=self.health,
                slack=self.console if self.console and not settings.slack.socket_mode else None,
                telegram=self.telegram if settings.telegram.webhook_url else None,
            ),
            settings.http.host,
            settings.http.port,
        )

    def _build_telegram(self) -> TelegramChannel | None:
        tg = self.settings.telegram
        if not tg.enabled:
            log.info("telegram: disabled (set TOWNHALL_TELEGRAM__TOKEN to enable)")
            return None
        assert tg.token is not None
        channel = TelegramChannel(
            tg.token.get_secret_value(),
            api_url=tg.api_url,
            file_url=tg.file_url,
            webhook_url=tg.webhook_url,
            webhook_secret=tg.webhook_secret.get_secret_value() if tg.webhook_secret else None,
            poll_timeout=tg.poll_timeout,
        )
        self.channels[channel.name] = channel
        return channel

    def _build_slack(self) -> SlackConsole | None:
        slack = self.settings.slack
        if not slack.enabled or not slack.triage_channel:
            log.info(
                "slack: disabled (set TOWNHALL_SLACK__BOT_TOKEN, TOWNHALL_SLACK__TRIAGE_CHANNEL "
                "and TOWNHALL_SLACK__APP_TOKEN or TOWNHALL_SLACK__SIGNING_SECRET); escalated "
                "cases are stored but not shown to staff"
            )
            return None
        assert slack.bot_token is not None
        return SlackConsole(
            bot_token=slack.bot_token.get_secret_value(),
            triage_channel=slack.triage_channel,
            staff=slack.staff,
            api_url=slack.api_url,
            signing_secret=(
                slack.signing_secret.get_secret_value() if slack.signing_secret else None
            ),
            app_token=(
                slack.app_token.get_secret_value()
                if slack.app_token and slack.socket_mode
                else None
            ),
        )

    async def _send_message(self, payload: dict[str, Any]) -> str:
        message = OutboundMessage.from_dict(payload)
        channel = self.channels.get(message.address.channel)
        if channel is None:
            raise SendError(f"channel {message.address.channel!r} is not enabled")
        return await channel.send(message)

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
        await self.outbox.start()
        await self.web.start()
        for channel in self.channels.values():
            await channel.start(self.ingestor)
        if self.console is not None and self.triage is not None:
            await self.console.start(self.triage.handle)
            self.scheduler.add_job(self.console.refresh_staff, "interval", minutes=10)
        self.scheduler.add_job(
            self.retrainer.run, "interval", days=self.settings.classifiers.retrain_interval_days,
            max_instances=1, coalesce=True,
        )
        self.scheduler.add_job(
            self.ingestor.recover, "interval", minutes=1, next_run_time=datetime.now(UTC),
            max_instances=1, coalesce=True,
        )
        self.scheduler.start()

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for channel in self.channels.values():
            await channel.stop()
        if self.console is not None:
            await self.console.stop()
        await self.web.stop()
        await self.outbox.stop()
        await self.pipeline.close()
        self.db.close()

    async def health(self) -> dict[str, object]:
        try:
            await self.db.run(lambda session: session.connection().exec_driver_sql("SELECT 1"))
            database = True
        except Exception:  # any driver error means "not reachable now"
            database = False
        return {
            "ok": database,
            "database": database,
            "channels": sorted(self.channels),
            "console": self.console.name if self.console else None,
        }
