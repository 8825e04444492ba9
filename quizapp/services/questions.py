"""Curating the bank: find questions, edit them (a new version once used), retire and restore."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, func, or_, select, update

from ..extensions import db
from ..models import (
    Ability,
    AttemptAnswer,
    Category,
    LearningItem,
    PaperQuestion,
    Question,
    QuestionStatus,
    QuestionVersion,
    Source,
)
from . import audit, bank_io, text
from .errors import Conflict, DomainError, InvalidInput, NotFound

PAGE_SIZE = 30
UNSOURCED = "-"  # the source filter's value for 无出处 (never a source code: codes start with [A-Za-z0-9_])


@dataclass
class QuestionFilters:
    q: str | None = None
    source: str | None = None
    category: str | None = None
    type: str | None = None
    ability: str | None = None
    difficulty: int | None = None
    status: str | None = None


def in_use(*columns):
    """``select(columns)`` over the current versions of active questions: what may be drawn."""
    return (
        select(*columns)
        .join(Question, Question.id == QuestionVersion.question_id)
        .where(QuestionVersion.is_current, Question.status == QuestionStatus.ACTIVE)
    )


def search(filters: QuestionFilters):
    """Current versions matching the filters, with source, category and ability names (one query).
    The text search looks in the stem, the options and the explanation."""
    stmt = (
        select(
            QuestionVersion,
            Question.status,
            Source.code,
            Source.title,
            Category.name,
            Ability.name,
            Question.reserved,
        )
        .join(Question, Question.id == QuestionVersion.question_id)
        .outerjoin(Source, Source.id == QuestionVersion.source_id)  # 无出处 questions too
        .join(Category, Category.id == QuestionVersion.category_id)
        .join(Ability, Ability.id == QuestionVersion.ability_id)
        .where(QuestionVersion.is_current)
    )
    if filters.q:
        pattern = f"%{filters.q.strip()}%"
        stmt = stmt.where(
            or_(
                QuestionVersion.stem.like(pattern),
                QuestionVersion.explanation.like(pattern),
                func.cast(QuestionVersion.options, db.String).like(pattern),
            )
        )
    if filters.source == UNSOURCED:
        stmt = stmt.where(QuestionVersion.source_id.is_(None))
    elif filters.source:
        stmt = stmt.where(Source.code == filters.source)
    if filters.category:
        stmt = stmt.where(Category.name == filters.category)
    if filters.type:
        stmt = stmt.where(QuestionVersion.type == filters.type)
    if filters.ability:
        stmt = stmt.where(Ability.name == filters.ability)
    if filters.difficulty:
        stmt = stmt.where(QuestionVersion.difficulty == filters.difficulty)
    if filters.status == "reserved":
        stmt = stmt.where(Question.reserved.is_(True))
    elif filters.status:
        stmt = stmt.where(Question.status == filters.status)
    return stmt


def page_of(stmt, page: int) -> tuple[int, list]:
    """One page, newest first. The page's ids are found on narrow rows first, then only those rows
    are read whole: sorting 20,000 stems to show 30 would cost ten times as much."""
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    ids = db.session.scalars(
        stmt.with_only_columns(QuestionVersion.id)
        .order_by(QuestionVersion.question_id.desc())
        .limit(PAGE_SIZE)
        .offset((page - 1) * PAGE_SIZE)
    ).all()
    rows = db.session.execute(
        stmt.where(QuestionVersion.id.in_(ids)).order_by(QuestionVersion.question_id.desc())
    ).all()
    return total, rows


def get(question_id: int) -> tuple[Question, list[tuple]]:
    question = db.session.get(Question, question_id)
    if question is None:
        raise NotFound("题目不存在")
    versions = db.session.execute(
        select(QuestionVersion, Source.code, Source.title, Category.name, Ability.name)
        .outerjoin(Source, Source.id == QuestionVersion.source_id)
        .join(Category, Category.id == QuestionVersion.category_id)
        .join(Ability, Ability.id == QuestionVersion.ability_id)
        .where(QuestionVersion.question_id == question_id)
        .order_by(QuestionVersion.number.desc())
    ).all()
    return question, versions


def is_used(version_id: int) -> bool:
    """Has anyone been shown this version (daily, practice, a paper)? Then it is frozen."""
    return bool(
        db.session.scalar(
            select(
                exists().where(LearningItem.question_version_id == version_id)
                | exists().where(PaperQuestion.question_version_id == version_id)
                | exists().where(AttemptAnswer.question_version_id == version_id)
            )
        )
    )


def edit(question_id: int, values: dict, *, actor_id: int | None) -> QuestionVersion:
    """Change a question. Validated like an import row (the quote is checked against the source).
    A version anyone has seen is never changed: the edit becomes the next version, and past answers
    keep pointing at the one they saw."""
    question, versions = get(question_id)
    current = next(v for v, *_ in versions if v.is_current)
    resolver = bank_io.db_resolver(None)
    case = bank_io.CaseDraft("", current.case.title, current.case.body) if current.case_id else None
    raw = bank_io.RawRecord(
        file="",
        row="",
        values=values,
        case=case,
        case_position=current.case_position,
        unsourced_ok=current.source_id is None,  # a 无出处 question may stay so until a source is added
    )
    categories = db.session.scalars(select(Category.name)).all()
    abilities = db.session.scalars(select(Ability.name)).all()
    draft, problems, _ = bank_io.validate_record(raw, resolver, set(categories), set(abilities))
    if problems:
        raise InvalidInput(problems, "题目有误，未保存")
    clash = db.session.scalar(
        select(QuestionVersion.question_id).where(
            QuestionVersion.is_current,
            QuestionVersion.content_hash == draft.content_hash,
            QuestionVersion.question_id != question_id,
        )
    )
    if clash is not None:
        raise Conflict(f"与第 {clash} 题内容相同（题干与选项一致）")
    content = {
        "type": draft.type,
        "stem": draft.stem,
        "options": draft.options,
        "answer": draft.answer,
        "explanation": draft.explanation,
        "category_id": db.session.scalar(select(Category.id).where(Category.name == draft.category)),
        "ability_id": db.session.scalar(select(Ability.id).where(Ability.name == draft.ability)),
        "difficulty": draft.difficulty,
        "source_id": (
            db.session.scalar(select(Source.id).where(Source.code == draft.source)) if draft.source else None
        ),
        "locator": draft.locator,
        "quote": draft.quote,
        "note": draft.note,
        "says": draft.says,
        "case_id": current.case_id,  # a case's sub-question stays in its case
        "case_position": current.case_position,
        "content_hash": draft.content_hash,
    }
    before = {"version": current.number, "stem": current.stem, "answer": current.answer}
    if is_used(current.id):
        db.session.execute(
            update(QuestionVersion).where(QuestionVersion.id == current.id).values(is_current=False)
        )
        db.session.flush()
        version = QuestionVersion(
            question_id=question_id,
            number=current.number + 1,
            is_current=True,
            created_by_id=actor_id,
            **content,
        )
        db.session.add(version)
    else:
        version = current
        for key, value in content.items():
            setattr(version, key, value)
    db.session.flush()
    audit.record(
        "question.edit",
        "question",
        question_id,
        actor_id=actor_id,
        before=before,
        after={"version": version.number, "stem": version.stem, "answer": version.answer},
    )
    return version


def set_status(question_ids: list[int], status: QuestionStatus, *, actor_id: int | None) -> int:
    changed = db.session.execute(
        update(Question).where(Question.id.in_(question_ids), Question.status != status).values(status=status)
    ).rowcount
    if changed:
        audit.record(
            "question.retire" if status == QuestionStatus.RETIRED else "question.restore",
            "question",
            ",".join(map(str, question_ids))[:64],
            actor_id=actor_id,
            after={"ids": question_ids, "changed": changed},
        )
    return changed


def set_reserved(question_ids: list[int], reserved: bool, *, actor_id: int | None) -> int:
    """Move questions into the reserve pool (考试专用: monthly contests and exams only) or out of it.
    Papers already drawn keep them; new draws follow the flag."""
    changed = db.session.execute(
        update(Question)
        .where(Question.id.in_(question_ids), Question.reserved.is_not(reserved))
        .values(reserved=reserved)
    ).rowcount
    if changed:
        audit.record(
            "question.reserve" if reserved else "question.unreserve",
            "question",
            ",".join(map(str, question_ids))[:64],
            actor_id=actor_id,
            after={"ids": question_ids, "changed": changed},
        )
    return changed


def categories() -> list[tuple[Category, int]]:
    """业务类别 in their order, each with its number of questions in use (one query)."""
    counts = (
        in_use(QuestionVersion.category_id, func.count().label("n"))
        .group_by(QuestionVersion.category_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Category, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.category_id == Category.id)
        .order_by(Category.sort, Category.id)
    )
    return [(category, count) for category, count in rows]


def add_category(name: str, *, actor_id: int | None) -> Category:
    """A new 业务类别 (a province's 党建理论): data, no code change; it is offered at once in imports,
    filters, blueprints and the edit form."""
    name = " ".join((name or "").split())
    if not name or text.unstorable(name):
        raise DomainError("请填写类别名称")
    if len(name) > 32:
        raise DomainError("类别名称不能超过 32 个字")
    if db.session.scalar(select(Category.id).where(Category.name == name)) is not None:
        raise Conflict(f"类别“{name}”已存在")
    sort = (db.session.scalar(select(func.max(Category.sort))) or 0) + 1
    category = Category(name=name, sort=sort)
    db.session.add(category)
    db.session.flush()
    audit.record("category.create", "category", category.id, actor_id=actor_id, after={"name": name})
    return category
