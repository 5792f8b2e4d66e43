"""Settings of the case lifecycle: queues and routing, service levels, duplicates, the 311 link.

Kept apart from `townhall/settings.py` because a city tunes these far more than anything else:
which team gets which cases, how fast it must answer, and what its 311 system calls each issue.
"""

from __future__ import annotations

from datetime import date, time
from pathlib import Path

from pydantic import BaseModel, Field, SecretStr, model_validator


class SlaSettings(BaseModel):
    """Targets in business hours; unset means no target."""

    first_response_hours: float | None = None
    resolution_hours: float | None = None


class BusinessHoursSettings(BaseModel):
    """When the city's staff work: SLA clocks only run inside these hours."""

    timezone: str = "UTC"
    days: list[str] = Field(default_factory=lambda: ["mon", "tue", "wed", "thu", "fri"])
    start: time = time(9)
    end: time = time(17)
    holidays: list[date] = Field(default_factory=list)
    # "always": count every hour (24/7 services, tests); the days and hours above are ignored
    always: bool = False


class QueueSettings(BaseModel):
    """A team's queue: its own Slack channel, who to mention, its lead and its own SLA."""

    id: str
    name: str = ""
    channel: str  # Slack channel id (C...)
    mention: str = ""  # user group (S...) or user (U...) mentioned when a case arrives
    lead: str = ""  # mentioned when an unclaimed case is escalated; empty = cases.lead
    staff: list[str] = Field(default_factory=list)  # who may act on its cases; empty = all staff
    sla: SlaSettings | None = None


class RoutingRule(BaseModel):
    """Cases that match every condition given go to `queue`; the first matching rule wins."""

    queue: str
    categories: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)  # any of them, as whole words
    abusive: bool | None = None


class DuplicateSettings(BaseModel):
    """When a new report joins an open case instead of opening one (see responders/duplicates)."""

    enabled: bool = True
    similarity: float = 0.7  # both reports located within radius_m
    similarity_without_location: float = 0.95  # near-verbatim repeats only
    window_hours: float = 72.0
    radius_m: float = 150.0


class Open311Settings(BaseModel):
    """The city's 311 system (Open311 GeoReport v2). Off unless an endpoint is set."""

    endpoint: str = ""
    api_key: SecretStr | None = None  # from the environment only
    jurisdiction_id: str = ""
    # sent as address_string for cases without a location (e.g. "City Hall, Springfield");
    # empty: such cases wait for the citizen to share a location
    default_address: str = ""
    services: dict[str, str] = Field(default_factory=dict)  # category id -> service_code
    poll_minutes: float = 10.0  # how often the requests' status is read back
    timeout: float = 10.0

    @property
    def enabled(self) -> bool:
        return bool(self.endpoint)


class CaseSettings(BaseModel):
    reference_prefix: str = "TH"
    # a resolved case can be reopened by replying to its resolution message for this long
    reopen_days: float = 7.0
    # after rating a case, the citizen's next message within this time is taken as a comment
    comment_minutes: float = 10.0
    business_hours: BusinessHoursSettings = BusinessHoursSettings()
    sla: SlaSettings = SlaSettings(first_response_hours=8, resolution_hours=40)
    sla_by_category: dict[str, SlaSettings] = Field(default_factory=dict)
    # an unclaimed case past its first-response time is re-announced; this many business
    # hours later it is escalated to the queue's lead
    escalate_after_hours: float = 2.0
    lead: str = ""  # default lead (user group S... or user U...) for escalations
    check_seconds: float = 60.0  # how often the SLA clocks are checked
    canned_replies_path: Path = Path("config/replies.yaml")
    queues: list[QueueSettings] = Field(default_factory=list)
    routing: list[RoutingRule] = Field(default_factory=list)
    duplicates: DuplicateSettings = DuplicateSettings()
    max_photo_bytes: int = 10_000_000
    max_attachments: int = 10  # per case
    open311: Open311Settings = Open311Settings()

    @model_validator(mode="after")
    def _routes_to_known_queues(self) -> CaseSettings:
        known = {q.id for q in self.queues} | {"triage"}
        for rule in self.routing:
            if rule.queue not in known:
                raise ValueError(f"routing rule names unknown queue {rule.queue!r}")
        return self
