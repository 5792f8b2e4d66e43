"""X (Twitter), on tweepy's API v2 `AsyncClient`: mentions answered, keywords listened to,
polls posted and counted."""

from bots.x.channel import FEATURES, XChannel
from bots.x.client import AccessDenied, RateLimited, RateLimits, XApiClient
from bots.x.inbound import CHANNEL, to_inbound
from bots.x.poll_posts import PollTotals
from bots.x.text import has_personal_details, split_post, weighted_length

__all__ = [
    "CHANNEL",
    "FEATURES",
    "AccessDenied",
    "PollTotals",
    "RateLimited",
    "RateLimits",
    "XApiClient",
    "XChannel",
    "has_personal_details",
    "split_post",
    "to_inbound",
    "weighted_length",
]
