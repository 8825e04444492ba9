from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from ..models import Role


class StaffFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    unit = StringField("单位编码", validators=[Optional()])
    q = StringField("姓名或登录名", validators=[Optional()])
    role = SelectField(
        "角色",
        choices=[SelectChoice("", "全部角色")] + [SelectChoice(role.value, role.label) for role in Role],
        validators=[Optional()],
    )
