"""Verifying files against their sources, planning an import (new questions and duplicates) and
writing it, all or nothing."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select

from ...extensions import db
from ...models import Ability, Category, Question, QuestionCase, QuestionVersion, Source
from ...models._types import utcnow
from .. import audit
from ..errors import InvalidInput, Problem
from ..sources import SourceText
from .format import DEFAULT_ABILITIES, DEFAULT_CATEGORIES, Batch, CaseDraft, Draft, ImportPlan, ImportSummary
from .readers import read_batch, read_paths
from .validation import SourceResolver


def verify_paths(paths: Iterable[Path], bank_path: Path | None) -> dict:
    """Check files against their source texts, without a database. Repeats within the set are errors."""
    batch = read_paths(
        paths, resolver=SourceResolver(bank_path), categories=DEFAULT_CATEGORIES, abilities=DEFAULT_ABILITIES
    )
    problems = list(batch.problems)
    first_seen: dict[str, Draft] = {}
    for draft in batch.drafts:
        if (earlier := first_seen.setdefault(draft.content_hash, draft)) is not draft:
            problems.append(
                Problem(
                    draft.file, draft.row, None, f"与 {earlier.file} {earlier.row} 重复（题干与选项相同）"
                )
            )
    return {
        "files": batch.files,
        "questions": len(batch.drafts),
        "sources": len({draft.source for draft in batch.drafts if draft.source}),
        "by_type": dict(sorted(Counter(d.type for d in batch.drafts).items())),
        "by_category": dict(sorted(Counter(d.category for d in batch.drafts).items())),
        "by_ability": dict(sorted(Counter(d.ability for d in batch.drafts).items())),
        "by_difficulty": {str(k): v for k, v in sorted(Counter(d.difficulty for d in batch.drafts).items())},
        "cases": len({draft.case.content_hash for draft in batch.drafts if draft.case}),
        "errors": [problem.as_dict() for problem in problems],
    }


def ensure_taxonomy() -> None:
    """Create the default categories and abilities that are missing (idempotent)."""
    for model, names in ((Category, DEFAULT_CATEGORIES), (Ability, DEFAULT_ABILITIES)):
        existing = set(db.session.scalars(select(model.name)))
        for sort, name in enumerate(names):
            if name not in existing:
                db.session.add(model(name=name, sort=sort))
    db.session.flush()


def db_resolver(bank_path: Path | None) -> SourceResolver:
    known = {
        source.code: SourceText(
            code=source.code,
            title=source.title,
            body=source.body,
            issuer=source.issuer,
            effective=source.effective,
        )
        for source in db.session.scalars(select(Source))
    }
    return SourceResolver(bank_path, known)


def read_for_import(
    files_or_paths, bank_path: Path | None, *, unsourced_ok: bool = False, defaults: dict | None = None
) -> Batch:
    """Read input against the database's taxonomy and sources. ``unsourced_ok``: the import wizard's
    uploads (a unit's own bank) may hold 无出处 questions; paths (the shipped bank) never do."""
    ensure_taxonomy()
    resolver = db_resolver(bank_path)
    categories = db.session.scalars(select(Category.name)).all()
    abilities = db.session.scalars(select(Ability.name)).all()
    if isinstance(files_or_paths, list) and files_or_paths and isinstance(files_or_paths[0], Path):
        return read_paths(files_or_paths, resolver=resolver, categories=categories, abilities=abilities)
    return read_batch(
        files_or_paths,
        resolver=resolver,
        categories=categories,
        abilities=abilities,
        unsourced_ok=unsourced_ok,
        defaults=defaults,
    )


def plan_import(batch: Batch) -> ImportPlan:
    """Split drafts into new ones and duplicates (of the bank's current questions or of each other)."""
    hashes = [draft.content_hash for draft in batch.drafts]
    existing: set[str] = set()
    for start in range(0, len(hashes), 500):
        chunk = hashes[start : start + 500]
        existing.update(
            db.session.scalars(
                select(QuestionVersion.content_hash).where(
                    QuestionVersion.is_current, QuestionVersion.content_hash.in_(chunk)
                )
            )
        )
    new, duplicates = [], []
    for draft in batch.drafts:
        if draft.content_hash in existing:
            duplicates.append(draft)
        else:
            existing.add(draft.content_hash)
            new.append(draft)
    return ImportPlan(new=new, duplicates=duplicates)


def import_batch(batch: Batch, *, actor_id: int | None = None) -> ImportSummary:
    """Write a validated batch: sources first, then every new question with its first version.

    Raises InvalidInput (and writes nothing) if the batch has any problem.
    """
    if batch.problems:
        raise InvalidInput(batch.problems)
    plan = plan_import(batch)
    source_ids = dict(db.session.execute(select(Source.code, Source.id)).all())
    sources_added = 0
    for code in sorted({draft.source for draft in plan.new if draft.source} - set(source_ids)):
        text = batch.sources[code]
        source = Source(
            code=code, title=text.title, issuer=text.issuer, effective=text.effective, body=text.body
        )
        db.session.add(source)
        db.session.flush()
        source_ids[code] = source.id
        sources_added += 1
    category_ids = dict(db.session.execute(select(Category.name, Category.id)).all())
    ability_ids = dict(db.session.execute(select(Ability.name, Ability.id)).all())
    case_ids = _case_ids({draft.case for draft in plan.new if draft.case is not None})

    questions = [Question(reserved=draft.reserved) for draft in plan.new]
    db.session.add_all(questions)
    db.session.flush()
    db.session.execute(
        QuestionVersion.__table__.insert(),
        [
            {
                "question_id": question.id,
                "number": 1,
                "is_current": True,
                "type": draft.type,
                "stem": draft.stem,
                "options": draft.options,
                "answer": draft.answer,
                "explanation": draft.explanation,
                "category_id": category_ids[draft.category],
                "ability_id": ability_ids[draft.ability],
                "difficulty": draft.difficulty,
                "source_id": source_ids[draft.source] if draft.source else None,
                "locator": draft.locator,
                "quote": draft.quote,
                "content_hash": draft.content_hash,
                "note": draft.note,
                "says": draft.says,
                "case_id": case_ids[draft.case.content_hash] if draft.case else None,
                "case_position": draft.case_position,
                "created_by_id": actor_id,
                "created_at": utcnow(),
            }
            for question, draft in zip(questions, plan.new, strict=True)
        ],
    ) if plan.new else None
    summary = ImportSummary(added=len(plan.new), duplicates=len(plan.duplicates), sources_added=sources_added)
    if plan.new:
        audit.record(
            "bank.import",
            "question",
            None,
            actor_id=actor_id,
            after={
                "added": summary.added,
                "duplicates": summary.duplicates,
                "sources_added": sources_added,
                "files": batch.files,
            },
        )
    return summary


def _case_ids(cases: set[CaseDraft]) -> dict[str, int]:
    """The ids of these case texts (by content hash), adding the ones the bank does not hold yet."""
    hashes = {case.content_hash: case for case in cases}
    found = (
        dict(
            db.session.execute(
                select(QuestionCase.content_hash, QuestionCase.id).where(
                    QuestionCase.content_hash.in_(hashes)
                )
            ).all()
        )
        if hashes
        else {}
    )
    for content_hash, case in hashes.items():
        if content_hash not in found:
            row = QuestionCase(
                title=case.title, body=case.body, content_hash=content_hash, created_at=utcnow()
            )
            db.session.add(row)
            db.session.flush()
            found[content_hash] = row.id
    return found


def load_shipped_banks(bank_path: Path) -> ImportSummary:
    """Import the shipped banks; on later runs everything is a duplicate and nothing changes."""
    batch = read_for_import([bank_path], bank_path)
    return import_batch(batch)
