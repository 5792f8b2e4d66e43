"""Staff roles in Slack: agent < lead < admin, and which role each action needs.

Agents work cases (claim, reply, resolve, correct, move, merge, split, moderate statements,
track alerts). Leads also change what the city tells residents or who may write to it: the FAQ,
polls, announcements, consultations, blocking and unblocking a citizen. Admins also change what
the city listens to. Everyone in `[slack] staff` is an agent; `leads` and `admins` name the
others (user ids U... or user groups S..., expanded by the console). Checked on every action and
slash command, before any listener runs.
"""

from __future__ import annotations

from typing import Any

from bots.slack.blocks import FAQ_MODAL
from bots.slack.poll_modal import POLL_MODAL

ROLES = ("agent", "lead", "admin")

LEAD_ACTIONS = frozenset({"case_block", "case_faq_add", "poll_close"})
LEAD_VIEWS = frozenset({FAQ_MODAL, POLL_MODAL})
# first words of `/townhall ...` and the role they need; anything else is an agent's
COMMAND_ROLES = {"announce": "lead", "poll": "lead", "consult": "lead", "unblock": "lead",
                 "listen add": "admin", "listen remove": "admin"}


def at_least(role: str | None, needed: str) -> bool:
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def needed_role(body: dict[str, Any]) -> str:
    """The role a Slack request (block action, view submission, slash command) needs."""
    if body.get("type") == "block_actions":
        actions = {a.get("action_id") for a in body.get("actions") or []}
        return "lead" if actions & LEAD_ACTIONS else "agent"
    if body.get("type") == "view_submission":
        callback = (body.get("view") or {}).get("callback_id")
        return "lead" if callback in LEAD_VIEWS else "agent"
    if "command" in body:
        words = str(body.get("text") or "").lower().split()
        return COMMAND_ROLES.get(" ".join(words[:2])) or COMMAND_ROLES.get(
            words[0] if words else "", "agent")
    return "agent"
