import calendar
from datetime import date, timedelta

from flask import redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..models import Ability, Category, DailySet, QuestionType, Source
from ..services import draws, error_reports, favourites, mistakes, points, rules, seal
from ..services import history as learning_history
from ..services import rounds as round_service
from ..services.org import unit_trail
from ..web import safe_next, transaction
from . import bp

WEEKDAYS = "一二三四五六日"


def _today() -> date:
    return clock.business_date(clock.utcnow(), rules.current().tz)


@bp.route("/")
@login_required
def home():
    now = clock.utcnow()
    today = _today()
    trail = unit_trail(current_user.unit) if current_user.unit else []
    todays = db.session.scalar(
        select(DailySet).where(DailySet.user_id == current_user.id, DailySet.day == today)
    )
    book = mistakes.summary(current_user.id, now=now, rules=rules.current())
    return render_template(
        "learn/home.html",
        trail=trail,
        today=today,
        weekday=WEEKDAYS[today.weekday()],
        todays=todays,
        daily_size=rules.current().daily_size,
        points=points.totals(current_user.id, today),
        streak=learning_history.streak(current_user.id, today),
        mistake_book=book,
        rounds=[r for r in round_service.rounds_for_user(current_user, now=now) if r["state"] == "open"],
    )


@bp.route("/daily")
@login_required
def daily_page():
    return render_template("learn/daily.html")


@bp.route("/practice")
@login_required
def practice():
    categories = db.session.scalars(select(Category.name).order_by(Category.sort)).all()
    abilities = db.session.scalars(select(Ability.name).order_by(Ability.sort)).all()
    chosen = {key: request.args.get(key, "") for key in draws.PRACTICE_FILTERS}
    return render_template(
        "learn/practice.html",
        categories=categories,
        abilities=abilities,
        types=list(QuestionType),
        chosen=chosen,
        # 政策原文 练一练: the document the questions come from
        source_title=db.session.scalar(select(Source.title).where(Source.code == chosen["source"]))
        if chosen["source"]
        else None,
    )


@bp.route("/mistakes")
@login_required
def mistake_book():
    """错题本: the whole questions, filtered by 业务类别 and by source document."""
    now = clock.utcnow()
    shelves = mistakes.shelves(current_user.id, now=now)
    category = request.args.get("category", type=int)
    source = request.args.get("source", type=int)
    entries = mistakes.book(current_user.id, now=now, category_id=category, source_id=source)
    return render_template(
        "learn/mistakes.html",
        entries=entries,
        shelves=shelves,
        due=shelves["due"],
        chosen={"category": category, "source": source},
        category_name=next((c["name"] for c in shelves["categories"] if c["id"] == category), ""),
    )


@bp.route("/favourites")
@login_required
def favourites_page():
    """我的收藏: the starred questions in full, and practice from them."""
    return render_template("learn/favourites.html", questions=favourites.listing(current_user.id))


@bp.route("/mistakes/review")
@login_required
def mistake_review():
    return render_template("learn/review.html")


@bp.route("/history")
@login_required
def history():
    today = _today()
    year = request.args.get("year", today.year, type=int)
    month = request.args.get("month", today.month, type=int)
    # A month the calendar can show with its neighbours (year 1 and 9999 have none on one side).
    shown = date(year, month, 1) if 1900 <= year <= 2999 and 1 <= month <= 12 else today.replace(day=1)
    following = (shown + timedelta(days=32)).replace(day=1)
    finished = learning_history.finished_days(current_user.id, shown, following)
    weeks = calendar.Calendar(firstweekday=0).monthdatescalendar(shown.year, shown.month)
    previous = (shown - timedelta(days=1)).replace(day=1)
    return render_template(
        "learn/history.html",
        today=today,
        shown=shown,
        weeks=weeks,
        finished=finished,
        streak=learning_history.streak(current_user.id, today),
        accuracy=learning_history.accuracy(current_user.id),
        stars=sum(finished.values()),
        previous_url=url_for("learn.history", year=previous.year, month=previous.month),
        next_url=url_for("learn.history", year=following.year, month=following.month)
        if following <= today
        else None,
    )


@bp.route("/reports", methods=["GET", "POST"])
@login_required
def report_question():
    """我的纠错: the learner's reports with the admins' replies; POST files a report from a form."""
    if request.method == "POST":
        with transaction("已提交纠错，管理员处理后会在“我的纠错”中回复您"):
            error_reports.report(
                current_user,
                request.form.get("question_id", type=int) or 0,
                request.form.get("reason", ""),
                now=clock.utcnow(),
            )
        return redirect(safe_next(request.form.get("next")) or url_for("learn.report_question"))
    return render_template(
        "learn/reports.html",
        reports=error_reports.reports_of(current_user.id),
        labels=error_reports.STATUS_LABELS,
        withheld=seal.WITHHELD,
    )
