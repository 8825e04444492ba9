from datetime import datetime

from flask import current_app, render_template
from flask_login import current_user, login_required

from ..services.org import unit_trail
from . import bp

WEEKDAYS = "一二三四五六日"


@bp.route("/")
@login_required
def home():
    today = datetime.now(current_app.config["TZINFO"]).date()
    trail = unit_trail(current_user.unit) if current_user.unit else []
    return render_template("learn/home.html", trail=trail, today=today, weekday=WEEKDAYS[today.weekday()])
