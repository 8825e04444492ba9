from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    FieldList,
    FloatField,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from ..models import PaperMode, QuestionType, Role, RoundKind, ShowAnswers


class StaffFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    unit = StringField("单位", validators=[Optional()])
    q = StringField("姓名或登录名", validators=[Optional()])
    role = SelectField(
        "角色",
        choices=[SelectChoice("", "全部角色")] + [SelectChoice(role.value, role.label) for role in Role],
        validators=[Optional()],
    )


class BlueprintRowForm(Form):
    """One row of a paper's blueprint: how many questions of which type, category, difficulty."""

    qtype = SelectField(
        "题型",
        choices=[SelectChoice("", "任意题型")]
        + [SelectChoice(t.value, t.label) for t in QuestionType]
        + [SelectChoice("case", "案例分析（题数为案例个数，每个含全部小题）")],
        validators=[Optional()],
    )
    category = SelectField(
        "业务类别", choices=[SelectChoice("", "任意类别")], validators=[Optional()], validate_choice=False
    )
    difficulty = SelectField(
        "难度",
        choices=[SelectChoice("", "任意难度")] + [SelectChoice(str(d), f"难度{d}") for d in (1, 2, 3)],
        validators=[Optional()],
    )
    count = IntegerField("题数", validators=[Optional(), NumberRange(1, 200, "题数应为 1–200")])


class RoundRulesForm(FlaskForm):
    """The rules a round and a schedule template share."""

    targets = StringField(
        "参加单位",
        validators=[DataRequired("请选择参加单位")],
        description="可选多个单位；含下属全部单位",
    )
    time_limit_minutes = IntegerField("答题时限（分钟）", validators=[DataRequired(), NumberRange(1, 600)])
    attempts_allowed = IntegerField("可作答次数", validators=[DataRequired(), NumberRange(1, 20)])
    pass_mark = FloatField("及格线（分）", validators=[InputRequired(), NumberRange(0, 100)])
    show_answers = SelectField(
        "公布成绩和答案", choices=[SelectChoice(s.value, s.label) for s in ShowAnswers]
    )
    grace_seconds = IntegerField("交卷宽限（秒）", validators=[InputRequired(), NumberRange(0, 600)])
    paper_mode = SelectField(
        "组卷方式",
        choices=[SelectChoice(m.value, m.label) for m in PaperMode],
        description="随机组卷：每人每次开始作答时按试卷结构单独抽题，各行题数相同，同一题最多出现在 30% 的试卷中；"
        "可多次作答时每次都是新题。统一试卷：所有人同一套题；可多次作答时，成绩和答案在最后一次交卷后才公布。",
    )
    blueprint = FieldList(FormField(BlueprintRowForm), min_entries=6, max_entries=20)


class RoundForm(RoundRulesForm):
    kind = SelectField("类型", choices=[SelectChoice(k.value, k.label) for k in RoundKind])
    title = StringField("标题", validators=[DataRequired("请填写标题"), Length(max=200)])
    opens_at = DateTimeLocalField(
        "开始时间", format="%Y-%m-%dT%H:%M", validators=[DataRequired("请填写开始时间")]
    )
    closes_at = DateTimeLocalField(
        "结束时间", format="%Y-%m-%dT%H:%M", validators=[DataRequired("请填写结束时间")]
    )


class CategoryForm(FlaskForm):
    name = StringField("类别名称", validators=[DataRequired("请填写类别名称"), Length(max=32)])


class ExtendForm(FlaskForm):
    username = StringField("登录名", validators=[DataRequired("请填写登录名")])
    minutes = IntegerField("延长（分钟）", default=10, validators=[DataRequired(), NumberRange(1, 240)])


HH_MM = Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", message="格式应为 HH:MM")


class TemplateForm(RoundRulesForm):
    """The schedule template of the weekly or monthly round."""

    enabled = BooleanField("启用（由定时任务自动创建）")
    open_day = IntegerField("开始日", validators=[InputRequired(), NumberRange(0, 28)])
    open_time = StringField("开始时间", validators=[DataRequired(), HH_MM])
    close_day = IntegerField("结束日", validators=[InputRequired(), NumberRange(0, 6)])
    close_time = StringField("结束时间", validators=[DataRequired(), HH_MM])
    plan_ahead_days = IntegerField("提前几天创建", validators=[InputRequired(), NumberRange(1, 31)])


class SelectionForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    starts_on = DateField("起始日期", validators=[Optional()])
    ends_on = DateField("截止日期", validators=[Optional()])
    unit = StringField("单位（含下属）", validators=[Optional()])
    job_section = StringField("岗位", validators=[Optional()])
    age_band = SelectField(
        "年龄段", choices=[SelectChoice("", "不限年龄")], validators=[Optional()], validate_choice=False
    )
    level = StringField("职级", validators=[Optional()])
    gender = SelectField(
        "性别",
        choices=[SelectChoice("", "不限性别"), SelectChoice("男", "男"), SelectChoice("女", "女")],
        validators=[Optional()],
    )
    top = IntegerField("人数", default=20, validators=[Optional(), NumberRange(1, 500)])


class ScreenForm(FlaskForm):
    unit = StringField("单位", validators=[DataRequired("请选择单位")])
    label = StringField("名称（如：一楼大厅电视）", validators=[DataRequired("请填写名称"), Length(max=100)])


class QuestionFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    q = StringField("关键词", validators=[Optional()])
    source = SelectField(
        "来源文件", choices=[SelectChoice("", "全部来源")], validators=[Optional()], validate_choice=False
    )
    category = SelectField(
        "业务类别", choices=[SelectChoice("", "全部类别")], validators=[Optional()], validate_choice=False
    )
    type = SelectField(
        "题型",
        choices=[SelectChoice("", "全部题型")] + [SelectChoice(t.value, t.label) for t in QuestionType],
        validators=[Optional()],
    )
    ability = SelectField(
        "能力", choices=[SelectChoice("", "全部能力")], validators=[Optional()], validate_choice=False
    )
    difficulty = SelectField(
        "难度",
        choices=[SelectChoice("", "全部难度")] + [SelectChoice(str(d), f"难度{d}") for d in (1, 2, 3)],
        validators=[Optional()],
    )
    status = SelectField(
        "状态",
        choices=[
            SelectChoice("", "全部状态"),
            SelectChoice("active", "在用"),
            SelectChoice("retired", "已停用"),
            SelectChoice("reserved", "考试专用"),
        ],
        validators=[Optional()],
    )


class QuestionEditForm(FlaskForm):
    type = SelectField("题型", choices=[SelectChoice(t.value, t.label) for t in QuestionType])
    category = SelectField("业务类别", choices=[], validate_choice=False)
    ability = SelectField("能力", choices=[], validate_choice=False)
    difficulty = SelectField("难度", choices=[SelectChoice(str(d), f"难度{d}") for d in (1, 2, 3)])
    stem = TextAreaField("题干", validators=[DataRequired("请填写题干")])
    option_a = StringField("选项A")
    option_b = StringField("选项B")
    option_c = StringField("选项C")
    option_d = StringField("选项D")
    option_e = StringField("选项E")
    option_f = StringField("选项F")
    answer = StringField(
        "答案", description="单选 B；多选 ACD；判断 正确/错误；填空 三十|30；六十|60；计算题填数值（如 600）"
    )
    unit = StringField("单位（计算题）", description="如 元；多种写法用 | 分隔，如 天|日")
    tolerance = StringField("误差（计算题）", description="允许的误差，如 0.5；天数、人数填 0")
    says = TextAreaField("群众原话（情景应答）", description="窗口前群众说的话；题干写场景")
    rubric = TextAreaField(
        "评分要点（简答、情景应答）",
        description="每行一个要点：要点|分值|短语、短语（短语含“、”时用「」括起）；答案一栏写参考答案",
    )
    deductions = TextAreaField("扣分项（简答、情景应答）", description="格式同评分要点，可留空")
    explanation = TextAreaField("解析", validators=[DataRequired("请填写解析")])
    note = TextAreaField(
        "备注", description="规则在已知日期变化时写明（如 2030 年起最低缴费年限逐步提高），学员答题后可见"
    )
    source = SelectField("来源文件", choices=[], validate_choice=False)
    # Checked with the source (validate_record): a 无出处 question leaves all three empty.
    locator = StringField("条款位置", validators=[Optional()])
    quote = TextAreaField("原文引用", validators=[Optional()])
