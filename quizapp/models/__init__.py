"""ORM models, one module per aggregate. Importing this package registers every table."""

from .bank import Ability, Category, Question, QuestionStatus, QuestionType, QuestionVersion, Source
from .learning import DailySet, DrawReason, ItemKind, LearningItem, MistakeEntry, PointsEntry
from .ops import AuditLog
from .org import Role, Unit, User

__all__ = [
    "Ability",
    "AuditLog",
    "Category",
    "DailySet",
    "DrawReason",
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
]
