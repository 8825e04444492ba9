"""政策原文 (the reading room) and 背题模式.

The reading room shows every source document article by article (or paragraph by paragraph, for a
speech or a report), with the number of practicable questions each article holds, a search across
the documents, and the quote of a question's 出处 marked in its article. Texts are never keys: a
document is readable by anybody signed in; what it counts are the questions practice may serve.

背题模式 lists questions *with* their key and 解析, so it shows only what practice could serve and
then show anyway: no reserve (考试专用) question, nothing sealed by a running contest, and nothing on
the paper of a round that has not closed (its shared paper, or the learner's own drawn one).
A learner marks a question 已掌握 (``question_mark`` kind ``mastered``); practice leaves it out
(``draws.Filters.without_mastered_of``) until it is unmarked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Category, MarkKind, Question, QuestionMark, QuestionVersion, Source
from . import seal
from .draws import Filters
from .errors import NotFound
from .favourites import on_open_paper
from .questions import in_use
from .sources import ARTICLE, ARTICLE_LOCATOR, HEADING, PARAGRAPH_LOCATOR, parse_source

MAX_NEEDLES = 5  # marked phrases a document page takes (a quote, or a search's terms)
MAX_NEEDLE = 500  # characters of one (a quote is a sentence or two)
MAX_MARKS = 200  # marks on one page
MAX_QUERY = 60  # characters of a search
MAX_TERMS = 4
HITS_PER_DOCUMENT = 5
MAX_DOCUMENTS = 40  # documents a search lists
SNIPPET = 48  # characters shown either side of a hit
RECITE_PAGE = 10

CASE_TITLE = re.compile(r"^案例[0-9一二三四五六七八九十]+[：:]")

# The shelves of the reading room, in order; a document goes on the first that fits.
SHELVES = ("法律", "行政法规", "司法解释", "部门规章与文件", "典型案例", "讲话与报道")


def shelf_of(code: str, title: str, issuer: str | None) -> str:
    """Which shelf a document goes on, by its kind as its title and issuer tell it."""
    issuer = issuer or ""
    if "案例" in title or code.startswith("cases_"):
        return "典型案例"
    if "最高人民法院" in title or "最高人民法院" in issuer:
        return "司法解释"
    if code.startswith(("speech_", "article_")) or "讲话" in title:
        return "讲话与报道"
    if title.endswith("法") or (code.startswith("law_") and "条例" not in title):
        return "法律"
    if issuer.startswith("国务院") or title.endswith("条例"):
        return "行政法规"
    return "部门规章与文件"


def practicable(*columns, filters: Filters | None = None):
    """``select(columns)`` over what practice may serve (as ``draws.available``)."""
    return in_use(*columns).where(
        Question.reserved.is_(False),
        seal.not_sealed(QuestionVersion.question_id),
        *(filters.conditions() if filters else []),
    )


# ---------------------------------------------------------------------------------------------
# The shelves


def shelves() -> list[dict]:
    """Every document with its practicable question count, shelved: one query (bodies unread)."""
    counts = (
        practicable(QuestionVersion.source_id, func.count(QuestionVersion.id).label("questions"))
        .group_by(QuestionVersion.source_id)
        .subquery()
    )
    rows = db.session.execute(
        select(Source.code, Source.title, Source.issuer, Source.effective, counts.c.questions)
        .outerjoin(counts, counts.c.source_id == Source.id)
        .order_by(Source.code)
    ).all()
    shelved: dict[str, list[dict]] = {name: [] for name in SHELVES}
    for code, title, issuer, effective, questions in rows:
        shelved[shelf_of(code, title, issuer)].append(
            {
                "code": code,
                "title": title,
                "issuer": issuer,
                "effective": effective,
                "questions": questions or 0,
            }
        )
    return [{"name": name, "documents": docs} for name, docs in shelved.items() if docs]


# ---------------------------------------------------------------------------------------------
# A document


def _fold(text: str) -> str:
    """ASCII case folded, length kept (marks are placed by offsets in the original)."""
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def _spans(text: str, needles: list[str]) -> list[tuple[int, int]]:
    """Where the needles occur in the text (ASCII case aside), merged, at most MAX_MARKS."""
    folded, found = _fold(text), []
    for needle in needles:
        needle = _fold(needle)
        start = 0
        while len(found) < MAX_MARKS and (at := folded.find(needle, start)) >= 0:
            found.append((at, at + len(needle)))
            start = at + len(needle)
    merged: list[tuple[int, int]] = []
    for begin, end in sorted(found):
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((begin, end))
    return merged


def _segments(lines: list[str], needles: list[str]) -> list[list[tuple[str, bool]]]:
    """Each line as (text, marked) pieces. A needle may run over a line break (a quote of two 款)."""
    text = "\n".join(lines)
    spans = _spans(text, needles) if needles else []
    pieces, offset = [], 0
    for line in lines:
        end, position, parts = offset + len(line), offset, []
        for begin, finish in spans:
            if finish <= offset or begin >= end:
                continue
            begin, finish = max(begin, offset), min(finish, end)
            if begin > position:
                parts.append((text[position:begin], False))
            parts.append((text[begin:finish], True))
            position = finish
        if position < end:
            parts.append((text[position:end], False))
        pieces.append(parts)
        offset = end + 1
    return pieces


@dataclass
class Paragraph:
    number: int  # 第N段: the document's Nth non-empty line
    pieces: list[tuple[str, bool]]

    @property
    def anchor(self) -> str:
        return f"第{self.number}段"

    @property
    def marked(self) -> bool:
        return any(marked for _, marked in self.pieces)


@dataclass
class Block:
    """A heading (第一章 …, 案例1：…), an article (第十条 and its 款) or a loose paragraph."""

    kind: str  # heading | article | paragraph
    paragraphs: list[Paragraph]
    label: str = ""  # the article's 第十条
    questions: int = 0

    @property
    def anchor(self) -> str:
        return self.label or self.paragraphs[0].anchor

    @property
    def marked(self) -> bool:
        return any(p.marked for p in self.paragraphs)


@dataclass
class Document:
    code: str
    title: str
    issuer: str | None
    effective: str | None
    blocks: list[Block] = field(default_factory=list)
    questions: int = 0
    by_article: bool = False  # a law's 第X条; else the paragraphs are numbered (第N段)

    @property
    def contents(self) -> list[Block]:
        return [block for block in self.blocks if block.kind == "heading"]

    @property
    def marks(self) -> int:
        return sum(block.marked for block in self.blocks)


def _article_key(locator: str) -> str:
    """The block a question's locator points at: 第十条第二款 → 第十条; 第3段 stays."""
    if match := ARTICLE_LOCATOR.match(locator):
        return match.group(1)
    return locator


def document(code: str, needles: list[str] | None = None) -> Document:
    """A document as blocks, with the questions each article holds and ``needles`` marked: two
    queries whatever its length. NotFound for an unknown code."""
    row = db.session.execute(
        select(Source.id, Source.title, Source.issuer, Source.effective, Source.body).where(
            Source.code == code
        )
    ).first()
    if row is None:
        raise NotFound("没有这份文件")
    counts: dict[str, int] = {}
    for locator, questions in db.session.execute(
        practicable(QuestionVersion.locator, func.count(QuestionVersion.id))
        .where(QuestionVersion.source_id == row.id)
        .group_by(QuestionVersion.locator)
    ):
        key = _article_key(locator)
        counts[key] = counts.get(key, 0) + questions
    text = parse_source(code, row.body)
    lines = text.paragraphs
    needles = [n.strip()[:MAX_NEEDLE] for n in (needles or []) if n and n.strip()][:MAX_NEEDLES]
    pieces = _segments(lines, needles)
    doc = Document(code, row.title, row.issuer, row.effective, by_article=bool(text.articles))
    current: Block | None = None
    for number, (line, parts) in enumerate(zip(lines, pieces, strict=True), start=1):
        paragraph = Paragraph(number, parts)
        if match := ARTICLE.match(line):
            current = Block("article", [paragraph], label=match.group(1))
            doc.blocks.append(current)
            first, marked = parts[0]
            if not marked and first.startswith(current.label):  # the label stands above the text
                rest = first[len(current.label) :].lstrip(" \u3000")
                parts[:1] = [(rest, False)] if rest else []
        elif HEADING.match(line) or CASE_TITLE.match(line):
            current = None
            doc.blocks.append(Block("heading", [paragraph]))
        elif current is not None:
            current.paragraphs.append(paragraph)
        else:
            doc.blocks.append(Block("paragraph", [paragraph]))
    for block in doc.blocks:
        block.questions = counts.get(block.label, 0) if block.label else counts.get(block.anchor, 0)
    doc.questions = sum(counts.values())
    return doc


def locator_of(locator: str) -> str | None:
    """The anchor a question's locator lands on in the reading room (第十条第二款 → 第十条)."""
    key = _article_key(locator or "")
    return key if ARTICLE_LOCATOR.match(key) or PARAGRAPH_LOCATOR.match(key) else None


# ---------------------------------------------------------------------------------------------
# Search


def search_terms(query: str) -> list[str]:
    return [term for term in (query or "")[:MAX_QUERY].split() if term][:MAX_TERMS]


def _snippet(line: str, terms: list[str]) -> list[tuple[str, bool]]:
    """The part of a line around its first hit, marked."""
    folded = _fold(line)
    first = min((at for t in terms if (at := folded.find(_fold(t))) >= 0), default=0)
    begin, end = max(0, first - SNIPPET), min(len(line), first + SNIPPET * 2)
    parts = _segments([line[begin:end]], terms)[0]
    if begin > 0:
        parts.insert(0, ("…", False))
    if end < len(line):
        parts.append(("…", False))
    return parts


def search(query: str) -> dict:
    """Documents whose title or text holds every term, each with its best few lines (the lines
    holding the most terms, then the first): one query, bounded by MAX_DOCUMENTS and the lines."""
    terms = search_terms(query)
    if not terms:
        return {"terms": [], "results": [], "more": False}
    matches = [
        or_(Source.title.icontains(term, autoescape=True), Source.body.icontains(term, autoescape=True))
        for term in terms
    ]
    rows = db.session.execute(
        select(Source.code, Source.title, Source.body)
        .where(and_(*matches))
        .order_by(Source.code)
        .limit(MAX_DOCUMENTS + 1)
    ).all()
    folded_terms = [_fold(term) for term in terms]
    results = []
    for code, title, body in rows[:MAX_DOCUMENTS]:
        hits, total, article = [], 0, None
        for number, line in enumerate(parse_source(code, body).paragraphs, start=1):
            if match := ARTICLE.match(line):
                article = match.group(1)
            elif HEADING.match(line):
                article = None
            folded = _fold(line)
            held = sum(term in folded for term in folded_terms)
            if held:
                total += 1
                hits.append((-held, number, article or f"第{number}段", line))
        hits.sort()
        results.append(
            {
                "code": code,
                "title": title,
                "title_pieces": _segments([title], terms)[0],
                "count": total,
                "hits": [
                    {"anchor": anchor, "pieces": _snippet(line, terms)}
                    for _, _, anchor, line in sorted(hits[:HITS_PER_DOCUMENT], key=lambda hit: hit[1])
                ],
            }
        )
    results.sort(key=lambda result: -result["count"])
    return {"terms": terms, "results": results, "more": len(rows) > MAX_DOCUMENTS}


# ---------------------------------------------------------------------------------------------
# 背题模式


def is_mastered(user_id, question_id_column):
    return exists().where(
        QuestionMark.user_id == user_id,
        QuestionMark.question_id == question_id_column,
        QuestionMark.kind == MarkKind.MASTERED,
    )


def recite(user_id: int, filters: Filters, *, page: int = 1, unmastered: bool = False) -> dict:
    """A page of questions with their keys, as 背题模式 shows them (see the module's rules): two
    queries (the count and the page)."""
    mastered = is_mastered(user_id, QuestionVersion.question_id)
    conditions = [~on_open_paper(user_id, QuestionVersion.question_id)]
    if unmastered:
        conditions.append(~mastered)
    total = db.session.scalar(practicable(func.count(QuestionVersion.id), filters=filters).where(*conditions))
    pages = max(1, -(-total // RECITE_PAGE))
    page = min(max(page, 1), pages)
    rows = db.session.execute(
        practicable(
            QuestionVersion,
            Category.name,
            Source.code,
            Source.title,
            mastered.label("mastered"),
            filters=filters,
        )
        .join(Category, Category.id == QuestionVersion.category_id)
        .outerjoin(Source, Source.id == QuestionVersion.source_id)  # 无出处 questions too
        .where(*conditions)
        .order_by(QuestionVersion.source_id, QuestionVersion.question_id)
        .offset((page - 1) * RECITE_PAGE)
        .limit(RECITE_PAGE)
    ).all()
    items = [
        {
            "version": version,
            "category": category,
            "source_code": code,
            "source_title": title,
            "anchor": locator_of(version.locator),
            "mastered": is_done,
            "number": (page - 1) * RECITE_PAGE + index,
        }
        for index, (version, category, code, title, is_done) in enumerate(rows, start=1)
    ]
    return {"items": items, "total": total, "page": page, "pages": pages}


def set_mastered(user_id: int, question_id: int, mastered: bool, *, now: datetime) -> None:
    """已掌握 on or off. Only a question 背题模式 may show can be marked (else NotFound); marking
    twice keeps one mark (the unique (user, kind, question) decides a race)."""
    if not mastered:
        db.session.execute(
            delete(QuestionMark).where(
                QuestionMark.user_id == user_id,
                QuestionMark.question_id == question_id,
                QuestionMark.kind == MarkKind.MASTERED,
            )
        )
        return
    shown = db.session.scalar(
        practicable(QuestionVersion.id).where(
            QuestionVersion.question_id == question_id, ~on_open_paper(user_id, QuestionVersion.question_id)
        )
    )
    if shown is None:
        raise NotFound("题目不存在")
    if db.session.scalar(select(is_mastered(user_id, question_id))):
        return
    try:
        with db.session.begin_nested():
            db.session.add(
                QuestionMark(user_id=user_id, question_id=question_id, kind=MarkKind.MASTERED, created_at=now)
            )
    except IntegrityError:  # marked at the same moment from another tab
        pass
