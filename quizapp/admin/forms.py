from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import Optional


class StaffFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    unit = StringField("单位编码", validators=[Optional()])
    q = StringField("姓名或登录名", validators=[Optional()])
    role = SelectField("角色", choices=[("", "全部角色"), ("staff", "学员"), ("unit_admin", "单位管理员"),
                                      ("admin", "系统管理员")], validators=[Optional()])
