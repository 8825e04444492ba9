"""Admin: the scheduler's run log and "run now", and the schedule templates of weekly/monthly rounds."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import jobs
from ..extensions import db
from ..models import JobRun
from ..services import audit, rounds
from ..web import transaction
from . import bp
from .forms import TemplateForm
from .round_routes import blueprint_rows, category_choices, fill_blueprint, target_codes
from .routes import admins_only


@bp.route("/jobs")
@admins_only
def job_runs():
    chosen = request.args.get("job") or None
    stmt = select(JobRun).order_by(JobRun.id.desc()).limit(100)
    if chosen:
        stmt = stmt.where(JobRun.job == chosen)
    if request.args.get("failed"):
        stmt = stmt.where(JobRun.outcome == "error")
    return render_template(
        "admin/jobs.html",
        runs=db.session.scalars(stmt).all(),
        chosen=chosen,
        listing=jobs.next_runs(current_app._get_current_object()),
    )


@bp.route("/jobs/<name>/run", methods=["POST"])
@admins_only
def job_run_now(name: str):
    if name not in jobs.SWEEPS:
        abort(404)
    run = jobs.run_sweep(current_app._get_current_object(), name)
    with transaction():
        audit.record(
            "job.run", "job", name, actor_id=current_user.id, after={"outcome": run.outcome, "run_id": run.id}
        )
    flash(
        f"{jobs.SWEEPS[name].label}：{'完成' if run.outcome == 'ok' else '出错'} {jobs.describe_counts(run.counts)}",
        "success" if run.outcome == "ok" else "danger",
    )
    return redirect(url_for("admin.job_runs"))


@bp.route("/schedule/<kind>", methods=["GET", "POST"])
@admins_only
def schedule(kind: str):
    if kind not in ("weekly", "monthly"):
        abort(404)
    template = rounds.template_for(kind)
    form = TemplateForm()
    category_choices(form)
    if request.method == "GET":
        for field in rounds.TEMPLATE_FIELDS:
            getattr(form, field).data = (
                str(getattr(template, field))
                if field in ("show_answers", "paper_mode")
                else getattr(template, field)
            )
        form.targets.data = " ".join(template.target_codes)
        fill_blueprint(form, template.blueprint)
    elif form.validate_on_submit():
        values = {field: getattr(form, field).data for field in rounds.TEMPLATE_FIELDS}
        with transaction("已保存；定时任务将按此模板提前创建下一期") as saved:
            rounds.save_template(
                kind, values, target_codes(form.targets.data), blueprint_rows(form), actor_id=current_user.id
            )
        if saved.ok:
            return redirect(url_for("admin.schedule", kind=kind))
    return render_template("admin/schedule.html", form=form, kind=kind)
