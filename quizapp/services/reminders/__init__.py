"""Reminders (催办): who has not done today's work, the message, the channels, the sending.

``settings`` (what the configuration says), ``vault`` (secrets encrypted at rest), ``channels`` (the
adapters: 企业微信 and 钉钉 group robots, e-mail, the log; checking what a unit admin types),
``outstanding`` (who is behind, set-based, and the message), ``sending`` (the sweep, 一键催办,
retries with back-off, the delivery log).
"""

from .channels import ChannelInput, save_channel
from .outstanding import build_message
from .sending import channel_view, recent_deliveries, send_now, sweep
from .settings import ReminderSettings

__all__ = [
    "ChannelInput",
    "ReminderSettings",
    "build_message",
    "channel_view",
    "recent_deliveries",
    "save_channel",
    "send_now",
    "sweep",
]
