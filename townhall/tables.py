"""Every table of the project in one metadata, for Alembic and for tests that build schemas."""

from sqlmodel import SQLModel

import listening.checkpoints
import listening.models
import listening.queries
import listening.trend_tables
import polls.consultation_models
import polls.models
import responders.faq_store
import responders.models

__all__ = ["listening", "metadata", "polls", "responders"]

metadata = SQLModel.metadata
