import re

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import HiddenInput

STEP = 0.5  # a keypoint is marked in halves
MAX_KEYPOINTS = 100  # far beyond any rubric: a forged form is not read on without end


def point_choices(points: float) -> list[str]:
    """0 … ``points`` in halves, as the select offers them ("0", "0.5", "1", …)."""
    return [f"{i * STEP:g}" for i in range(int(points / STEP) + 1)]


class MarkForm(FlaskForm):
    """One answer's marks. The keypoints' selects (``kp0``, ``kp1``, …) and the deductions' boxes
    (``deduct``) follow the rubric of the answer, so ``sent_marks`` reads them rather than fields."""

    task = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    stamp = HiddenField(validators=[InputRequired()])


def sent_marks(form) -> tuple[list[str], list[float], list[int], list[str]]:
    """From a posted ``MarkForm``: the choices as sent (to show them again), the marks, the
    deductions ticked, and what is missing or malformed (in Chinese)."""
    chosen, awarded, problems = [], [], []
    while f"kp{len(chosen)}" in form and len(chosen) < MAX_KEYPOINTS:
        number, value = len(chosen) + 1, form.get(f"kp{len(chosen)}", "").strip()
        chosen.append(value)
        if not value:
            problems.append(f"请为第{number}个要点选择得分")
            continue
        try:
            awarded.append(float(value))
        except ValueError:
            problems.append(f"第{number}个要点的得分无效")
    deducted = []
    for value in form.getlist("deduct"):
        if not value.isdigit():
            problems.append("扣分项无效")
            break
        deducted.append(int(value))
    return chosen, awarded, deducted, problems


class MarkersForm(FlaskForm):
    """The admin's: markers for a round, by username."""

    usernames = TextAreaField(
        "阅卷人登录名",
        validators=[DataRequired("请填写阅卷人的登录名"), Length(max=20000)],
        render_kw={"rows": 3, "placeholder": "每行一个，或用逗号、空格分隔"},
    )
    own_unit_ok = BooleanField("允许评阅本单位考生")


def usernames_in(text: str) -> list[str]:
    """Usernames one a line or separated by commas (either width), 、, semicolons or spaces, each once."""
    return list(dict.fromkeys(name for name in re.split(r"[\s,，、;；]+", text) if name))


class ReassignForm(FlaskForm):
    """The admin's: a marker's remaining answers to another marker of the round."""

    from_marker = SelectField("转出阅卷人", coerce=int, validators=[InputRequired()])
    to_marker = SelectField("转给", coerce=int, validators=[InputRequired()])
