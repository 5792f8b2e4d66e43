"""Settings: `config/townhall.toml`, overridden by `TOWNHALL_*` environment variables.

Nested keys use `__` (`TOWNHALL_SLACK__BOT_TOKEN`). Secrets are `SecretStr` and come only from the
environment: a channel with no credentials is simply disabled. There is no module-level instance;
`Settings.load()` builds one and the composition root passes it down.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from townhall.case_settings import CaseSettings

DEFAULT_CONFIG = Path("config/townhall.toml")
ONNX_CACHE = Path("var/onnx")  # where the encoders' ONNX exports are kept


class HttpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8080


class TelegramSettings(BaseModel):
    token: SecretStr | None = None
    api_url: str = "https://api.telegram.org/bot"
    file_url: str = "https://api.telegram.org/file/bot"
    webhook_url: str = ""
    webhook_secret: SecretStr | None = None
    poll_timeout: int = 30

    @property
    def enabled(self) -> bool:
        return bool(self.token and self.token.get_secret_value())


class SlackSettings(BaseModel):
    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    api_url: str = "https://slack.com/api/"
    triage_channel: str = ""
    staff: Annotated[list[str], NoDecode] = Field(default_factory=list)  # agents
    leads: Annotated[list[str], NoDecode] = Field(default_factory=list)
    admins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    mode: Literal["auto", "socket", "http"] = "auto"

    @field_validator("staff", "leads", "admins", mode="before")
    @classmethod
    def _split_staff(cls, value: object) -> object:
        """Accept `U1,U2` or a JSON list from an env var, as well as a TOML list."""
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token and (self.app_token or self.signing_secret))

    @property
    def socket_mode(self) -> bool:
        if self.mode == "auto":
            return self.app_token is not None
        return self.mode == "socket"


class XSettings(BaseModel):
    """X (Twitter), API v2. Posting, mentions and DMs need the four OAuth 1.0a user keys; the
    bearer token (app-only) is used for reads (mentions, search) when present."""

    bearer_token: SecretStr | None = None
    consumer_key: SecretStr | None = None
    consumer_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None
    api_url: str = "https://api.x.com"
    poll_interval: float = 60.0
    listen_interval: float = 300.0
    listen_queries: Annotated[list[str], NoDecode] = Field(default_factory=list)
    backfill_hours: float = 24.0
    dm_personal_details: bool = False

    @field_validator("listen_queries", mode="before")
    @classmethod
    def _split_queries(cls, value: object) -> object:
        """A JSON list from an env var (queries contain spaces and commas), or a TOML list."""
        if isinstance(value, str):
            return json.loads(value) if value.strip().startswith("[") else [value]
        return value

    @property
    def user_auth(self) -> bool:
        keys = (self.consumer_key, self.consumer_secret, self.access_token,
                self.access_token_secret)
        return all(key is not None and key.get_secret_value() for key in keys)

    @property
    def enabled(self) -> bool:
        return self.user_auth or bool(self.bearer_token and self.bearer_token.get_secret_value())


class FaqSettings(BaseModel):
    """See `responders/faq_match.py` and the [faq] comments in config/townhall.toml."""

    path: Path = Path("config/faq.yaml")
    threshold: float = 0.45  # probability of the best entry (logistic regression over embeddings)
    margin: float = 0.05  # over the runner-up's probability; less = ask which one was meant
    min_similarity: float = 0.4  # cosine with one of the entry's own example questions
    # the same three for messages not in English, matched with multilingual-e5
    multilingual_threshold: float = 0.45
    multilingual_margin: float = 0.05
    multilingual_min_similarity: float = 0.8


class OutboxSettings(BaseModel):
    max_attempts: int = 8
    base_delay: float = 1.0
    max_delay: float = 300.0
    concurrency: int = 8
    poll_interval: float = 1.0
    # how long a claimed item is held: after a crash, its send is retried this much later
    lease_seconds: float = 120.0


class ClassifierSettings(BaseModel):
    encoder: Literal["minilm"] = "minilm"
    backend: Literal["onnx", "torch"] = "onnx"
    onnx_cache: Path = ONNX_CACHE
    batch_size: int = 64
    categories_path: Path = Path("config/categories.yaml")
    abuse_policy: Literal["escalate", "acknowledge"] = "escalate"
    abuse_threshold: float = 0.8
    abuse_reply: str = (
        "Thank you for your message. We want to help, and we will read it; please keep "
        "messages respectful so our staff can do their work."
    )
    retrain_min_corrections: int = 20
    retrain_interval_days: int = 7


class TrendsSettings(BaseModel):
    """Emerging-issue detection: the scheduled job that groups messages into topics."""

    enabled: bool = True
    interval_minutes: float = 5.0  # how often the job runs
    window_minutes: float = 60.0  # the "now" a topic's volume is measured over
    baseline_days: float = 7.0  # the past it is compared with
    topic_similarity: float = 0.6  # cosine to a topic's centre for a message to join it
    min_messages: int = 5  # in the window, for a topic to be raised
    min_citizens: int = 5  # distinct citizens among them
    min_growth: float = 8.0  # times the topic's expected volume for the window
    alerts_channel: str = ""  # Slack channel for alerts; empty = the triage channel


class DigestSettings(BaseModel):
    """The weekly report for managers: when it is made, where it goes, what "on time" means."""

    enabled: bool = True
    day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    time: str = "08:00"  # local time in `timezone`
    timezone: str = "UTC"
    out_dir: Path = Path("var/digests")
    slack_channel: str = ""  # empty = the triage channel
    # targets for the response-time section; no target = no compliance figure
    first_response_target_hours: float | None = None
    resolution_target_hours: float | None = None


class PollSettings(BaseModel):
    """Subscriptions and polls: the topics citizens can follow, how polls close and tally."""

    topics: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["Roads and transport", "Parks", "Waste and recycling",
                                 "Safety", "Events"]
    )
    neighbourhoods: Annotated[list[str], NoDecode] = Field(default_factory=list)
    close_check_seconds: float = 30.0  # how often due polls are closed
    tally_seconds: float = 10.0  # at most one live-tally update per poll this often
    totals_minutes: float = 5.0  # how often poll posts' totals are read back from X
    max_open_days: int = 60

    @field_validator("topics", "neighbourhoods", mode="before")
    @classmethod
    def _split_names(cls, value: object) -> object:
        """A JSON list or a comma-separated list from an env var, or a TOML list."""
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [name.strip() for name in value.split(",") if name.strip()]
        return value


class ConsultationSettings(BaseModel):
    """Opinion consultations (Polis-style): limits on citizens' statements, where staff see
    them, how often due consultations are closed."""

    statements_per_consultation: int = 5  # a citizen's pending or approved statements
    statements_per_day: int = 8  # a citizen's statements over 24 hours, any consultation
    draft_minutes: float = 30.0  # how long "Add my own statement" waits for the text
    moderation_channel: str = ""  # empty = the triage channel
    report_channel: str = ""  # empty = the triage channel
    close_check_seconds: float = 60.0


class AbuseSettings(BaseModel):
    """Per-citizen limits (responders/flood.py): a flood is acknowledged once, then muted."""

    max_messages: int = 12  # within window_seconds
    window_seconds: float = 60.0
    mute_minutes: float = 15.0
    repeats: int = 3  # the same text this many times within an hour is spam
    max_links: int = 3  # more links than this in one message is spam


class PrivacySettings(BaseModel):
    """How long residents' words are kept (listening/retention.py); 0 keeps them forever."""

    retention_days: float = 365.0
    # replace e-mail addresses, phone numbers and street addresses in what Slack cards show
    redact_cards: bool = False


class SecuritySettings(BaseModel):
    pseudonym_key: SecretStr | None = None


class Settings(BaseSettings):
    """Everything Townhall can be told. Build with `Settings.load()`."""

    model_config = SettingsConfigDict(
        env_prefix="TOWNHALL_",
        env_nested_delimiter="__",
        extra="ignore",
        toml_file=DEFAULT_CONFIG,
    )

    database_url: str = "sqlite:///var/townhall.db"
    data_dir: Path = Path("var")
    city_name: str = "the City"
    default_language: str = "en"
    http: HttpSettings = HttpSettings()
    telegram: TelegramSettings = TelegramSettings()
    slack: SlackSettings = SlackSettings()
    x: XSettings = XSettings()
    faq: FaqSettings = FaqSettings()
    outbox: OutboxSettings = OutboxSettings()
    classifiers: ClassifierSettings = ClassifierSettings()
    cases: CaseSettings = CaseSettings()
    trends: TrendsSettings = TrendsSettings()
    digest: DigestSettings = DigestSettings()
    polls: PollSettings = PollSettings()
    consultations: ConsultationSettings = ConsultationSettings()
    abuse: AbuseSettings = AbuseSettings()
    privacy: PrivacySettings = PrivacySettings()
    security: SecuritySettings = SecuritySettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("TOWNHALL_CONFIG", DEFAULT_CONFIG))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        secrets_file = os.environ.get("TOWNHALL_SECRETS_FILE")
        if secrets_file:  # KEY=value lines, e.g. a mounted secret; the environment wins
            sources.append(DotEnvSettingsSource(settings_cls, env_file=_private(secrets_file)))
        sources.append(TomlConfigSettingsSource(settings_cls, toml_path))
        return tuple(sources)

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Settings from the TOML file and the environment; keyword overrides win (tests, demo)."""
        return cls(**overrides)


def _private(path: str) -> Path:
    """The secrets file, refused when it is missing or others than its owner may read it: a
    token readable by every account on the server is a leaked token."""
    secrets = Path(path)
    if not secrets.is_file():
        raise ValueError(f"TOWNHALL_SECRETS_FILE={path}: there is no such file")
    if os.name == "posix" and secrets.stat().st_mode & 0o077:
        raise ValueError(
            f"TOWNHALL_SECRETS_FILE={path} may be read by other accounts: chmod 600 it"
        )
    return secrets
