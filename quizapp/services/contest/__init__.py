"""现场比武 (the live contest): set-up, the rules (a replay of the event log), playing, the
in-process broadcast, the views per screen, and the record afterwards."""

from . import hub, play, record, rules, setup, views
from .rules import ContestError

__all__ = ["ContestError", "hub", "play", "record", "rules", "setup", "views"]
