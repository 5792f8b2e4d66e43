"""The Slack staff console, on slack-bolt's AsyncApp."""

from bots.slack.console import SlackConsole

__all__ = ["SlackConsole"]
