"""The audit log: one append-only row per admin write."""

from __future__ import annotations

from ..extensions import db
from ..models import AuditLog

ACTION_LABELS = {
    "bank.import": "导入题目",
    "unit.create": "新建单位",
    "unit.rename": "单位改名",
    "unit.move": "调整单位隶属",
    "unit.deactivate": "停用单位",
    "user.update": "修改人员",
    "user.role": "调整角色",
    "user.reactivate": "恢复账号",
    "user.create": "新建账号",
    "user.import": "批量导入人员",
    "user.reset_password": "重置密码",
    "user.deactivate": "停用账号",
    "category.create": "新增业务类别",
    "question.edit": "修改题目",
    "question.retire": "停用题目",
    "question.restore": "恢复题目",
    "question.reserve": "设为考试专用",
    "question.unreserve": "取消考试专用",
    "round.create": "新建轮次",
    "round.update": "修改轮次",
    "round.paper": "抽取试卷",
    "round.close": "手动结束轮次",
    "job.run": "手动运行定时任务",
    "attempt.extend": "考生延时",
    "integrity.clear": "成绩核查：核准计入",
    "integrity.void": "成绩核查：作废",
    "certificate.reconcile": "发放/撤销考试证书",
    "certificate.revoke": "撤销证书",
    "schedule.update": "修改排期模板",
    "screen.create": "生成大屏链接",
    "screen.revoke": "停用大屏链接",
    "report.fixed": "纠错：已修正",
    "report.dismissed": "纠错：未采纳",
    "reminder.channel": "设置催办渠道",
    "reminder.send": "一键催办",
}


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def record(
    action: str,
    target_type: str,
    target_id,
    *,
    actor_id: int | None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditLog:
    entry = AuditLog(
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        actor_id=actor_id,
        before=before,
        after=after,
    )
    db.session.add(entry)
    return entry
