"""Admin: the integrity review queue (成绩核查) — held attempts and days, cleared or voided with a reason."""

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from .. import clock
from ..models import ReviewStatus
from ..services import integrity, rules
from ..services.errors import Conflict
from ..web import transaction
from . import bp
from .routes import managers_only


@bp.route("/integrity")
@managers_only
def integrity_queue():
    status = request.args.get("status", ReviewStatus.HELD.value)
    if status not in ReviewStatus.__members__.values():
        status = ReviewStatus.HELD.value
    page = max(1, request.args.get("page", 1, type=int))
    entries, counts = integrity.queue(current_user, ReviewStatus(status), page=page)
    return render_template(
        "admin/integrity.html",
        entries=entries,
        counts=counts,
        status=ReviewStatus(status),
        statuses=list(ReviewStatus),
        page=page,
        limits=integrity.thresholds(),
    )


@bp.route("/integrity/<int:review_id>", methods=["POST"])
@managers_only
def integrity_decide(review_id: int):
    decision = request.form.get("decision", "")
    done = "已核准，成绩计入并已更新排名与通报" if decision == "clear" else "已作废，成绩不计入"
    with transaction(done, shown=(integrity.BadReport, Conflict)):  # out of scope stays a 404
        integrity.decide(
            current_user,
            review_id,
            decision,
            request.form.get("reason", ""),
            now=clock.utcnow(),
            rules=rules.current(),
        )
    return redirect(url_for("admin.integrity_queue"))
