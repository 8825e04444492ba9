"""ORM models, one module per aggregate. Importing this package registers every table."""

from .bank import (
    Ability,
    Category,
    ErrorReport,
    Question,
    QuestionStatus,
    QuestionType,
    QuestionVersion,
    Source,
)
from .learning import DailySet, DrawReason, ItemKind, LearningItem, MistakeEntry, PointsEntry
from .ops import AuditLog, JobRun, SchedulerLease
from .org import Role, Unit, User, UserSession
from .results import Bulletin, DayRollup, ItemStat, RankingSnapshot, ScreenLink, SnapshotRow, UnitDayStat
from .rounds import (
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    PaperQuestion,
    Round,
    RoundKind,
    RoundStatus,
    RoundTarget,
    RoundTemplate,
    ShowAnswers,
)

__all__ = [
    "Ability",
    "Bulletin",
    "DayRollup",
    "ItemStat",
    "JobRun",
    "RankingSnapshot",
    "RoundTemplate",
    "SchedulerLease",
    "ScreenLink",
    "SnapshotRow",
    "UnitDayStat",
    "Attempt",
    "AttemptAnswer",
    "AttemptStatus",
    "PaperQuestion",
    "Round",
    "RoundKind",
    "RoundStatus",
    "RoundTarget",
    "ShowAnswers",
    "AuditLog",
    "Category",
    "DailySet",
    "DrawReason",
    "ErrorReport",
    "ItemKind",
    "LearningItem",
    "MistakeEntry",
    "PointsEntry",
    "Question",
    "QuestionStatus",
    "QuestionType",
    "QuestionVersion",
    "Role",
    "Source",
    "Unit",
    "User",
    "UserSession",
]
