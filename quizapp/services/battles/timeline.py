"""A battle's clock, derived from its answers (nothing is scheduled, nothing ticks).

Question 0 opens ``lead_seconds`` after the start. Question ``i`` is open from ``open_i`` until its
deadline ``open_i + question_seconds`` — or until the moment every player still in has answered,
if that comes first (the machine's answer counts from the moment its plan gives it). Its key and
explanation are then shown for ``reveal_seconds``, and question ``i + 1`` opens. The battle is over
when the last question's reveal ends. A player is still in for a question unless they forfeited
(gone for more than ``GONE_SECONDS``) before it opened.

So every process, and every test with a frozen clock, computes the same phases from the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

GONE_SECONDS = 10  # a player unseen this long forfeits the questions left
# The page is seen through its event stream, which wakes every few seconds and whose reports are
# written together once a second (``presence.report``): the last report kept may be this much older
# than the page's last contact. A forfeit is decided only past GONE_SECONDS + REPORT_SLACK since the
# last report (dated GONE_SECONDS after it), so a page back within 10 s always goes on.
REPORT_SLACK = 4


@dataclass(frozen=True)
class Phase:
    kind: str  # lead | question | reveal | finished
    index: int  # the question (its opening for lead: 0; the last one for finished)
    opens_at: datetime  # of question ``index``
    deadline: datetime  # of question ``index`` (question_seconds after its opening)
    ended_at: datetime | None  # of question ``index``, once it has ended
    # When the view changes next by the clock alone (a stream wakes then): in a question, the
    # machine's answer while it is still to come (it may end the question), else the deadline
    next_at: datetime | None


def phases(
    battle, answer_times: dict[int, list[datetime]], players: list, now: datetime
) -> tuple[Phase, list]:
    """The phase at ``now``, and (open, end) of every question that has ended by then.

    ``answer_times``: position → the times of the people's answers given so far; ``players``: the
    seats, with ``user_id`` (None: the machine) and ``forfeited_at``."""
    limit = timedelta(seconds=battle.question_seconds)
    reveal = timedelta(seconds=battle.reveal_seconds)
    count = len(battle.question_version_ids)
    opens = battle.started_at + timedelta(seconds=battle.lead_seconds)
    if now < opens:
        return Phase("lead", 0, opens, opens + limit, None, opens), []
    ended = []
    for index in range(count):
        deadline = opens + limit
        times = list(answer_times.get(index, []))
        people = [
            p for p in players if p.user_id is not None and (p.forfeited_at is None or p.forfeited_at > opens)
        ]
        expected = len(people)
        machine = battle.machine_plan[index] if battle.machine_plan else None
        coming = deadline  # the machine's answer, while it is still to come
        if machine is not None:
            expected += 1
            if machine["seconds"] < battle.question_seconds:
                at = opens + timedelta(seconds=machine["seconds"])
                if at <= now:
                    times.append(at)
                else:
                    coming = at
        end = max(times) if expected and len(times) >= expected and max(times) < deadline else deadline
        if now < end:
            return Phase("question", index, opens, deadline, None, coming), ended
        ended.append((opens, end))
        if now < end + reveal:
            return Phase("reveal", index, opens, deadline, end, end + reveal), ended
        opens = end + reveal
    last_open, last_end = ended[-1]
    return Phase("finished", count - 1, last_open, last_open + limit, last_end, None), ended


def speed_points(correct: bool, seconds: float, limit: int) -> float:
    """10 for a right answer, plus up to 10 for speed (all of it at once, none at the deadline), to
    one decimal; nothing for a wrong one."""
    if not correct:
        return 0.0
    return round(10 + 10 * max(0.0, 1 - seconds / limit), 1)
