"""ORM models, one module per aggregate. Importing this package registers every table."""

from .bank import Ability, Category, Question, QuestionStatus, QuestionType, QuestionVersion, Source
from .ops import AuditLog
from .org import Role, Unit, User

__all__ = [
    "Ability",
    "AuditLog",
    "Category",
    "Question",
    "QuestionStatus",
    "QuestionType",
    "QuestionVersion",
    "Role",
    "Source",
    "Unit",
    "User",
]
