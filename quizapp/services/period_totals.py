"""Running totals for the live ranking refresh, so that it reads one row per person (plus today's
facts) instead of every fact of the month (issue 24).

What is kept (``models.totals``):

- **Per person and live period** (this week, this month): the facts of the *folded* days — sets
  that count, daily stars, submitted attempts not held, finished battles not held, points, and per
  ability the learning answers that count with the sum of their fractions right. A day is folded
  once (``fold_day``: its ``TotalsDay`` row is claimed first, in the same transaction, so a second
  fold of the day fails on the key and adds nothing) by the day roll-over, once it is settled (no
  attempt still running whose auto-submit could date it back into the day).
- **Per closed round and unit**: its counted attempts (how many, score sum, passed) and its
  answers that count by ability, recomputed from the facts at the close and whenever an integrity
  decision restates the round (delete and insert: the same rows however often it runs).

A later change to a folded day's facts recomputes the rows of the people it touches from the facts
(``restate_people``): a reviewer's clear or void of a day or an attempt, the holds a close adds to
attempts submitted on earlier days, a practice item served on an earlier day and answered now.
Recomputing from the facts is idempotent by construction.

The live refresh (``live_calendar_totals``) reads, per period, the person rows joined to the people
as they are now (the unit they are in, whether they count), the facts of the days not folded (today,
and any day the roll-over has not reached), and the closed rounds' unit rows; its result equals the
full recompute (``rankings._calendar_totals``; tests/test_period_totals.py compares them on random
histories). ``rebuild`` recomputes every row from the facts (``quizapp rankings rebuild-totals``).

The module is long because the fold, the restates, the repair and the live read must count each
fact the same way (``_person_facts``, ``_person_abilities``, ``fold_round``): kept side by side so
that a change to one is seen to be a change to all.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import (
    Integer,
    and_,
    case,
    delete,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from .. import clock, database
from ..extensions import db
from ..models import (
    WRITTEN_TYPES,
    Attempt,
    AttemptAnswer,
    AttemptStatus,
    Battle,
    BattlePlayer,
    DailySet,
    LearningItem,
    PersonPeriodAbility,
    PersonPeriodTotal,
    PointsEntry,
    QuestionVersion,
    Round,
    RoundStatus,
    RoundUnitAbility,
    RoundUnitTotal,
    TotalsDay,
    TotalsRound,
    User,
)
from .history import round_answer_counts
from .org import active_staff
from .periods import Period, month_period, week_period

PERSON_COLUMNS = ("sets", "stars", "tries", "battles", "points")


# ---------------------------------------------------------------------------------------------
# Days and ranges


def live_periods(today: date) -> list[Period]:
    """The periods the live refresh keeps totals for: this week and this month."""
    return [week_period(today), month_period(today)]


def _runs(days) -> list[tuple[date, date]]:
    """Sorted days as contiguous [start, end) runs."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and runs[-1][1] == day:
            runs[-1][1] = day + timedelta(days=1)
        else:
            runs.append([day, day + timedelta(days=1)])
    return [(start, end) for start, end in runs]


def _on_days(column, runs):
    """A condition: a business-date column within the runs."""
    return or_(*(and_(column >= start, column < end) for start, end in runs)) if runs else false()


def _in_instants(column, runs, tz):
    """A condition: a UTC timestamp within the business days of the runs."""
    if not runs:
        return false()
    return or_(
        *(
            and_(column >= clock.day_bounds(start, tz)[0], column < clock.day_bounds(end, tz)[0])
            for start, end in runs
        )
    )


def _folded_days(first: date, last: date) -> set[date]:
    return set(db.session.scalars(select(TotalsDay.day).where(TotalsDay.day >= first, TotalsDay.day < last)))


# ---------------------------------------------------------------------------------------------
# Facts per person


def _person_facts(runs, tz, who=None):
    """Per person over the runs' days: (user_id, sets, stars, tries, battles, points), a subquery.
    ``who``: a select of user ids to restrict it to. Every fact counts as the full recompute counts
    it, without the person's current unit or status (applied when the totals are read)."""

    def only(column):
        return [column.in_(who)] if who is not None else []

    def zero():  # a new literal each time: select() would fold repeats of one into one column
        return literal(0, Integer)

    daily = (
        select(
            DailySet.user_id.label("user_id"),
            func.count(DailySet.id).label("sets"),
            func.count(DailySet.id).filter(DailySet.correct_count == DailySet.size).label("stars"),
            zero().label("tries"),
            zero().label("battles"),
            zero().label("points"),
        )
        .where(_on_days(DailySet.day, runs), DailySet.counts(), *only(DailySet.user_id))
        .group_by(DailySet.user_id)
    )
    attempts = (
        select(Attempt.user_id, zero(), zero(), func.count(Attempt.id), zero(), zero())
        .where(_in_instants(Attempt.submitted_at, runs, tz), Attempt.held.is_(False), *only(Attempt.user_id))
        .group_by(Attempt.user_id)
    )
    battles = (
        select(BattlePlayer.user_id, zero(), zero(), zero(), func.count(BattlePlayer.id), zero())
        .join(Battle, Battle.id == BattlePlayer.battle_id)
        .where(
            Battle.status == "finished",
            _in_instants(Battle.finished_at, runs, tz),
            BattlePlayer.user_id.is_not(None),
            BattlePlayer.held.is_(False),
            BattlePlayer.forfeited_at.is_(None),
            *only(BattlePlayer.user_id),
        )
        .group_by(BattlePlayer.user_id)
    )
    points = (
        select(PointsEntry.user_id, zero(), zero(), zero(), zero(), func.sum(PointsEntry.amount))
        .where(_on_days(PointsEntry.day, runs), *only(PointsEntry.user_id))
        .group_by(PointsEntry.user_id)
    )
    facts = union_all(daily, attempts, battles, points).subquery("facts")
    return (
        select(facts.c.user_id, *(func.sum(facts.c[name]).label(name) for name in PERSON_COLUMNS))
        .group_by(facts.c.user_id)
        .subquery("person_facts")
    )


def _tries(runs, tz, who):
    return (
        select(Attempt.user_id.label("user_id"), func.count(Attempt.id).label("tries"))
        .where(
            _in_instants(Attempt.submitted_at, runs, tz), Attempt.held.is_(False), Attempt.user_id.in_(who)
        )
        .group_by(Attempt.user_id)
        .subquery("tries")
    )


def _counted_answers(runs, who=None):
    """The learning answers over the runs' days that count for accuracy by ability (日日学, practice,
    review; not a written one, which is the learner's own self-marking; not of a day held for
    review): (user_id, ability_id, right) a row each — as ``ranking_abilities.answers_by_ability``
    counts them."""
    return (
        select(
            LearningItem.user_id.label("user_id"),
            QuestionVersion.ability_id.label("ability_id"),
            case((LearningItem.correct.is_(True), 1.0), else_=0.0).label("right"),
        )
        .select_from(LearningItem)
        .join(QuestionVersion, QuestionVersion.id == LearningItem.question_version_id)
        # A set's items are served on its day: joined to the sets of the same days only (not to
        # every set in the history, a hash of all of them per read).
        .outerjoin(DailySet, and_(DailySet.id == LearningItem.daily_set_id, _on_days(DailySet.day, runs)))
        .where(
            _on_days(LearningItem.day, runs),
            LearningItem.answered_at.is_not(None),
            QuestionVersion.type.not_in(WRITTEN_TYPES),
            or_(LearningItem.daily_set_id.is_(None), DailySet.held.is_(False)),
            *([LearningItem.user_id.in_(who)] if who is not None else []),
        )
        .subquery("counted_answers")
    )


def _person_abilities(runs, who=None):
    """Per person and ability over the runs' days: the counted answers and the sum of their
    fractions right."""
    answers = _counted_answers(runs, who)
    return (
        select(
            answers.c.user_id,
            answers.c.ability_id,
            func.count().label("answered"),
            func.sum(answers.c.right).label("right"),
        )
        .group_by(answers.c.user_id, answers.c.ability_id)
        .subquery("person_abilities")
    )


def _upsert(table, columns: list[str], source, keys: list[str], *, add: bool, only=None):
    """INSERT … SELECT … ON CONFLICT DO UPDATE: the new values added to the row's (``add``) or
    replacing them (``only`` those columns, when given)."""
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).from_select(columns, source)
    values = {
        name: (table.c[name] + statement.excluded[name]) if add else statement.excluded[name]
        for name in columns
        if name not in keys and (only is None or name in only)
    }
    return statement.on_conflict_do_update(index_elements=keys, set_=values)


def _write_people(key: str, runs, tz, *, who=None, add: bool) -> None:
    """The people's facts over the runs into the period's rows: added (a fold) or as new rows (a
    restate, after the old ones were removed). ``WHERE true``: SQLite needs a WHERE before ON CONFLICT."""
    facts = _person_facts(runs, tz, who)
    people = PersonPeriodTotal.__table__
    source = select(literal(key), facts.c.user_id, *(facts.c[name] for name in PERSON_COLUMNS)).where(true())
    columns = ["period_key", "user_id", *PERSON_COLUMNS]
    db.session.execute(
        _upsert(people, columns, source, ["period_key", "user_id"], add=True)
        if add
        else people.insert().from_select(columns, source)
    )
    answers = _person_abilities(runs, who)
    abilities = PersonPeriodAbility.__table__
    source = select(
        literal(key), answers.c.user_id, answers.c.ability_id, answers.c.answered, answers.c.right
    ).where(true())
    columns = ["period_key", "user_id", "ability_id", "answered", "right"]
    db.session.execute(
        _upsert(abilities, columns, source, ["period_key", "user_id", "ability_id"], add=True)
        if add
        else abilities.insert().from_select(columns, source)
    )


# ---------------------------------------------------------------------------------------------
# Folding days (the day roll-over)


def fold_day(day: date, *, today: date, now: datetime) -> bool:
    """Add one past day's facts to the person rows of the live periods that contain it. The day's
    ``TotalsDay`` row is claimed first: folding it again, or from two schedulers at once, fails on
    its key (IntegrityError, the caller's savepoint rolls back) and adds nothing. Returns False
    when the day was folded already."""
    if db.session.get(TotalsDay, day) is not None:
        return False
    db.session.add(TotalsDay(day=day, folded_at=now))
    db.session.flush()
    tz = current_app.config["TZINFO"]
    live = {period.key for period in live_periods(today)}
    for key in {week_period(day).key, month_period(day).key} & live:
        _write_people(key, [(day, day + timedelta(days=1))], tz, add=True)
    db.session.flush()
    return True


def _settled(day: date, tz) -> bool:
    """No attempt is still running whose auto-submit would be dated within (or before) the day."""
    end = clock.day_bounds(day, tz)[1]
    running = exists().where(Attempt.status == AttemptStatus.IN_PROGRESS, Attempt.deadline_at < end)
    return not db.session.scalar(select(running))


def fold_due(now: datetime) -> dict:
    """The roll-over's part: drop the rows of periods no longer live (and the markers before the live
    window), then fold every past day of the live week and month not folded yet, oldest first, each
    in its own savepoint, stopping at the first day not settled."""
    database.bulk_work()
    tz = current_app.config["TZINFO"]
    today = clock.business_date(now, tz)
    periods = live_periods(today)
    live = [period.key for period in periods]
    window = min(period.starts_on for period in periods)
    db.session.execute(delete(PersonPeriodTotal).where(PersonPeriodTotal.period_key.not_in(live)))
    db.session.execute(delete(PersonPeriodAbility).where(PersonPeriodAbility.period_key.not_in(live)))
    db.session.execute(delete(TotalsDay).where(TotalsDay.day < window))
    folded = 0
    done = _folded_days(window, today)
    for n in range((today - window).days):
        day = window + timedelta(days=n)
        if day in done:
            continue
        if not _settled(day, tz):
            break
        try:
            with db.session.begin_nested():
                folded += fold_day(day, today=today, now=now)
        except IntegrityError:  # another scheduler folded it at the same moment
            continue
    return {"folded": folded}


# ---------------------------------------------------------------------------------------------
# Restating people and rounds


def _live_runs(now: datetime) -> list[tuple[str, list]]:
    """Per live period: its key and the runs of its folded days."""
    tz = current_app.config["TZINFO"]
    today = clock.business_date(now, tz)
    periods = live_periods(today)
    folded = _folded_days(min(p.starts_on for p in periods), today)
    return [
        (period.key, _runs(day for day in folded if period.starts_on <= day < period.ends_on))
        for period in periods
    ]


def restate_people(who, *, now: datetime) -> None:
    """Recompute the rows of some people (``who``: ids, or a select of them) from the facts of the
    folded days: after a change to a day already folded (a reviewer's decision, a late answer)."""
    tz = current_app.config["TZINFO"]
    who = list(who) if isinstance(who, list | tuple | set) else who
    for key, runs in _live_runs(now):
        for model in (PersonPeriodTotal, PersonPeriodAbility):
            db.session.execute(delete(model).where(model.period_key == key, model.user_id.in_(who)))
        if runs:
            _write_people(key, runs, tz, who=who, add=False)
    db.session.flush()


def restate_tries(who, *, now: datetime) -> None:
    """Recompute only the submitted attempts that count of some people (a close holds attempts
    submitted on earlier days): set-based, without reading their learning facts."""
    tz = current_app.config["TZINFO"]
    people = PersonPeriodTotal.__table__
    for key, runs in _live_runs(now):
        db.session.execute(
            people.update()
            .where(people.c.period_key == key, people.c.user_id.in_(who))
            .values(tries=0)
            .execution_options(synchronize_session=False)
        )
        if not runs:
            continue
        tries = _tries(runs, tz, who)
        source = select(
            literal(key), tries.c.user_id, _zero(), _zero(), tries.c.tries, _zero(), _zero()
        ).where(true())
        db.session.execute(
            _upsert(
                people,
                ["period_key", "user_id", "sets", "stars", "tries", "battles", "points"],
                source,
                ["period_key", "user_id"],
                add=False,
                only=("tries",),
            ).execution_options(synchronize_session=False)
        )
    db.session.flush()


def late_answer(user_id: int, day: date, *, now: datetime) -> None:
    """A learning item served on an earlier day has just been answered: if that day is folded, the
    learner's rows are recomputed (rare: a practice question left open overnight)."""
    if db.session.get(TotalsDay, day) is not None:
        restate_people([user_id], now=now)


def fold_round(round_id: int, *, now: datetime) -> None:
    """A closed round's results per unit, from the facts: its counted attempts (by the unit each was
    taken in) and its answers that count by ability. Replaces what was there."""
    for model in (RoundUnitTotal, RoundUnitAbility, TotalsRound):
        db.session.execute(delete(model).where(model.round_id == round_id))
    db.session.add(TotalsRound(round_id=round_id, computed_at=now))
    db.session.flush()
    db.session.execute(
        RoundUnitTotal.__table__.insert().from_select(
            ["round_id", "unit_id", "counted", "score_sum", "passed"],
            select(
                literal(round_id),
                Attempt.unit_id,
                func.count(Attempt.id),
                func.coalesce(func.sum(Attempt.percent), 0.0),
                func.count(Attempt.id).filter(Attempt.percent >= Round.pass_mark),
            )
            .join(Round, Round.id == Attempt.round_id)
            .where(Attempt.round_id == round_id, Attempt.counted.is_(True))
            .group_by(Attempt.unit_id),
        )
    )
    db.session.execute(
        RoundUnitAbility.__table__.insert().from_select(
            ["round_id", "unit_id", "ability_id", "answered", "right"],
            select(
                literal(round_id),
                Attempt.unit_id,
                QuestionVersion.ability_id,
                func.count(AttemptAnswer.id),
                func.coalesce(func.sum(AttemptAnswer.score), 0.0),
            )
            .select_from(AttemptAnswer)
            .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
            .join(QuestionVersion, QuestionVersion.id == AttemptAnswer.question_version_id)
            .where(Attempt.round_id == round_id, round_answer_counts())
            .group_by(Attempt.unit_id, QuestionVersion.ability_id),
        )
    )
    db.session.flush()


def restate_round(round_id: int, *, now: datetime) -> None:
    """A round has just closed, or a decision changed what counts in it: its unit rows again, and
    the attempts that count of everyone who took it (the close may have held some)."""
    if db.session.scalar(select(Round.status).where(Round.id == round_id)) == RoundStatus.CLOSED:
        fold_round(round_id, now=now)
    restate_tries(select(Attempt.user_id).where(Attempt.round_id == round_id).distinct(), now=now)


def rebuild(*, now: datetime) -> dict:
    """The repair: every live row recomputed from the facts of the folded days, and every closed
    round of the live periods' unit rows. Running it changes nothing when all is well."""
    database.bulk_work()
    tz = current_app.config["TZINFO"]
    for model in (PersonPeriodTotal, PersonPeriodAbility):
        db.session.execute(delete(model))
    for key, runs in _live_runs(now):
        if runs:
            _write_people(key, runs, tz, add=False)
    rounds = _closed_rounds(live_periods(clock.business_date(now, tz)), tz)
    for round_id in rounds:
        fold_round(round_id, now=now)
    db.session.flush()
    return {
        "people": db.session.scalar(select(func.count()).select_from(PersonPeriodTotal)),
        "rounds": len(rounds),
    }


def _closed_rounds(periods: list[Period], tz) -> list[int]:
    start = clock.day_bounds(min(p.starts_on for p in periods), tz)[0]
    end = clock.day_bounds(max(p.ends_on for p in periods), tz)[0]
    return list(
        db.session.scalars(
            select(Round.id).where(
                Round.status == RoundStatus.CLOSED, Round.closes_at >= start, Round.closes_at < end
            )
        )
    )


# ---------------------------------------------------------------------------------------------
# The live refresh's read


def live_calendar_totals(periods: list[Period], tz, *, now: datetime) -> dict[str, dict[int, dict]]:
    """Totals of each unit's own staff for the live week and month, as ``rankings._calendar_totals``
    computes them from every fact, but from the person rows, the facts of the days not folded and
    the closed rounds' unit rows. Closed rounds of the periods without unit rows get them first."""
    from .ranking_abilities import add_answers
    from .rankings import unit_activity  # rankings imports this module

    today = clock.business_date(now, tz)
    first, last = min(p.starts_on for p in periods), max(p.ends_on for p in periods)
    folded = _folded_days(first, min(last, today))
    stored_keys = {p.key for p in live_periods(today)}
    # The days each period reads as facts (those not in its person rows), split by the periods
    # that read them: the open days the week and the month share (today, usually) are read once
    # for both, the month's other days once for it alone.
    open_days = []
    for period in periods:
        stored = period.key in stored_keys
        days = (period.starts_on + timedelta(days=n) for n in range((period.ends_on - period.starts_on).days))
        open_days.append({day for day in days if not (stored and day in folded)})
    readers: dict[tuple[int, ...], list[date]] = defaultdict(list)
    for day in sorted(set().union(*open_days)):
        readers[tuple(i for i, days in enumerate(open_days) if day in days)].append(day)
    groups = {tuple(_runs(days)): list(slots) for slots, days in readers.items()}

    # Each person once, with their stored row of each live period and their facts of each group of
    # open days joined to them (hash joins on the person; no regrouping of a wide union by person).
    sources: list[list] = [[] for _ in periods]  # per period: the row sources to add up
    statement = select(User.unit_id, func.count(User.id))
    for i, period in enumerate(periods):
        if period.key in stored_keys:
            row = aliased(PersonPeriodTotal, name=f"people_{i}")
            statement = statement.outerjoin(row, and_(row.user_id == User.id, row.period_key == period.key))
            sources[i].append(row)
    for n, (runs, slots) in enumerate(groups.items()):
        facts = _person_facts(list(runs), tz).alias(f"facts_{n}")
        statement = statement.outerjoin(facts, facts.c.user_id == User.id)
        for i in slots:
            sources[i].append(facts.c)
    battles_count = current_app.config["BATTLE_IN_MONTHLY"]
    for i in range(len(periods)):
        c = {
            name: sum((func.coalesce(getattr(source, name), 0) for source in sources[i]), _zero())
            for name in PERSON_COLUMNS
        }
        tries = c["tries"] + c["battles"] if battles_count else c["tries"]
        statement = statement.add_columns(
            func.sum(case((or_(c["sets"] > 0, tries > 0), 1), else_=0)),
            func.sum(c["sets"] + tries),
            func.sum(c["points"]),
            func.sum(c["stars"]),
        )
    rows = db.session.execute(statement.where(active_staff()).group_by(User.unit_id)).all()
    result = unit_activity(rows, periods)

    # Learning answers by ability, by the person's unit now: the stored rows and the open days'
    # answers, each summed by unit and ability in the database (tens of thousands of rows back, not
    # one per person and ability).
    stored = [period.key for period in periods if period.key in stored_keys]
    if stored:
        row = PersonPeriodAbility
        sums = []
        for period in periods:
            mine = row.period_key == period.key
            sums += [func.sum(row.answered).filter(mine), func.sum(row.right).filter(mine)]
        by_unit = (
            select(User.unit_id, row.ability_id, *sums)
            .join(User, User.id == row.user_id)
            .where(row.period_key.in_(stored), active_staff())
            .group_by(User.unit_id, row.ability_id)
        )
        for unit_id, ability_id, *values in db.session.execute(by_unit):
            for i, period in enumerate(periods):
                add_answers(result[period.key][unit_id], ability_id, values[2 * i], values[2 * i + 1])
    for runs, slots in groups.items():
        answers = _counted_answers(list(runs))
        by_unit = (
            select(User.unit_id, answers.c.ability_id, func.count(), func.sum(answers.c.right))
            .join(User, User.id == answers.c.user_id)
            .where(active_staff())
            .group_by(User.unit_id, answers.c.ability_id)
        )
        for unit_id, ability_id, answered, right in db.session.execute(by_unit):
            for i in slots:
                add_answers(result[periods[i].key][unit_id], ability_id, answered, right)

    # Closed rounds: their unit rows (scores, and answers by ability), by the closing time.
    bounds = [(clock.day_bounds(p.starts_on, tz)[0], clock.day_bounds(p.ends_on, tz)[0]) for p in periods]
    lacking = [
        round_id for round_id in _closed_rounds(periods, tz) if db.session.get(TotalsRound, round_id) is None
    ]
    for round_id in lacking:  # closed before the totals existed: written once, here
        fold_round(round_id, now=now)
    in_range = (
        Round.status == RoundStatus.CLOSED,
        Round.closes_at >= min(b[0] for b in bounds),
        Round.closes_at < max(b[1] for b in bounds),
    )
    score_columns = []
    for start, end in bounds:
        closed_in = (Round.closes_at >= start) & (Round.closes_at < end)
        score_columns += [
            func.coalesce(func.sum(RoundUnitTotal.counted).filter(closed_in), 0),
            func.coalesce(func.sum(RoundUnitTotal.score_sum).filter(closed_in), 0.0),
            func.coalesce(func.sum(RoundUnitTotal.passed).filter(closed_in), 0),
        ]
    for row in db.session.execute(
        select(RoundUnitTotal.unit_id, *score_columns)
        .join(Round, Round.id == RoundUnitTotal.round_id)
        .where(*in_range)
        .group_by(RoundUnitTotal.unit_id)
    ):
        for i, period in enumerate(periods):
            counted, score_sum, passed = row[1 + 3 * i : 4 + 3 * i]
            if counted:
                result[period.key][row[0]].update(
                    score_sum=float(score_sum), score_count=int(counted), passed=int(passed)
                )
    ability_columns = []
    for start, end in bounds:
        closed_in = (Round.closes_at >= start) & (Round.closes_at < end)
        ability_columns += [
            func.sum(RoundUnitAbility.answered).filter(closed_in),
            func.sum(RoundUnitAbility.right).filter(closed_in),
        ]
    for row in db.session.execute(
        select(RoundUnitAbility.unit_id, RoundUnitAbility.ability_id, *ability_columns)
        .join(Round, Round.id == RoundUnitAbility.round_id)
        .where(*in_range)
        .group_by(RoundUnitAbility.unit_id, RoundUnitAbility.ability_id)
    ):
        for i, period in enumerate(periods):
            if row[2 + 2 * i]:
                add_answers(result[period.key][row[0]], row[1], row[2 + 2 * i], row[3 + 2 * i])
    return result


def _zero():
    """A new literal 0 each time: a select() folds repeats of one column object into one column."""
    return literal(0, Integer)
