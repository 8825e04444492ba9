"""对战: matching, the server's clock, void late answers, forfeits and resumes, the machine, points."""

from __future__ import annotations

import random
from datetime import timedelta
from statistics import mean

import pytest
from sqlalchemy import func, select, update

from quizapp.extensions import db
from quizapp.models import Battle, BattleAnswer, BattlePlayer, PointsEntry, QuestionVersion
from quizapp.services import points, rules
from quizapp.services.battles import machine, match, play
from quizapp.services.errors import DomainError

T0 = None  # set from the frozen clock


@pytest.fixture
def bank(create_question):
    for _ in range(6):
        create_question("single", difficulty=2)
        create_question("judge", difficulty=1)


class Started:
    def __init__(self, battle_id: int):
        self.id = battle_id


def user(app, name):
    from quizapp.models import User

    with app.app_context():
        return db.session.scalar(select(User).where(User.username == name))


def run(app, function, *args, **kwargs):
    with app.app_context():
        result = function(*args, **kwargs)
        db.session.commit()
        return result


def goes_through_while_held(app, seat: int, work, *, lock: str = "FOR NO KEY UPDATE") -> None:
    """``work()`` in a thread while another transaction holds the seat's row: it must finish
    without waiting for it (within 20 s)."""
    import threading

    from sqlalchemy import text

    with app.app_context():
        holder = db.engine.connect()
    holding = holder.begin()
    holder.execute(text(f"SELECT id FROM battle_player WHERE id = :seat {lock}"), {"seat": seat})
    worker = threading.Thread(target=work)
    try:
        worker.start()
        worker.join(timeout=20)
        assert not worker.is_alive(), "it waited for the held seat row"
    finally:
        holding.rollback()
        holder.close()
        worker.join(timeout=20)


def right_answer(app, battle_id, position):
    with app.app_context():
        battle = db.session.get(Battle, battle_id)
        return db.session.get(QuestionVersion, battle.question_version_ids[position]).answer


def wrong_answer(app, battle_id, position):
    key = right_answer(app, battle_id, position)
    return (not key) if isinstance(key, bool) else ("B" if key == "A" else "A")


def test_two_waiting_staff_of_a_province_are_matched_and_a_lone_one_gets_the_machine_after_the_wait(
    app, province, bank, frozen_clock
):
    amy, bob, ann = (user(app, name) for name in ("amy", "bob", "ann"))
    now = frozen_clock()
    assert run(app, match.join, amy, "duel", now=now) == {"waiting": 0.0}
    outcome = run(app, match.join, bob, "duel", now=now + timedelta(seconds=2))
    battle_id = outcome["battle"]
    assert run(app, match.poll, amy, now=now + timedelta(seconds=3)) == {"battle": battle_id}
    with app.app_context():
        seats = db.session.scalars(
            select(BattlePlayer.user_id).where(BattlePlayer.battle_id == battle_id)
        ).all()
        assert sorted(seats) == sorted([amy.id, bob.id])
    # ann waits alone: after the wait (20 s) the machine plays her
    assert "waiting" in run(app, match.join, ann, "duel", now=now)
    assert "waiting" in run(app, match.poll, ann, now=now + timedelta(seconds=19))
    alone = run(app, match.poll, ann, now=now + timedelta(seconds=21))
    with app.app_context():
        assert db.session.get(Battle, alone["battle"]).mode == "machine"


def test_one_account_never_plays_itself(app, province, bank, frozen_clock):
    amy = user(app, "amy")
    with app.app_context(), pytest.raises(DomainError, match="自己"):
        play.start_battle("duel", [amy.id, amy.id], now=frozen_clock())
    with app.app_context(), pytest.raises(DomainError, match="自己"):
        match.challenge(amy, "amy", now=frozen_clock())


def test_the_server_keeps_the_clock_a_late_answer_is_void_and_the_fastest_right_answer_scores_most(
    app, province, bank, frozen_clock
):
    amy, bob = user(app, "amy"), user(app, "bob")
    start = frozen_clock()
    battle = Started(run(app, lambda: play.start_battle("duel", [amy.id, bob.id], now=start).id))
    lead, limit = 3, 15
    opens = start + timedelta(seconds=lead)
    with app.app_context(), pytest.raises(DomainError, match="已结束"):  # the countdown: not open yet
        play.answer(battle.id, amy.id, 0, right_answer(app, battle.id, 0), now=start + timedelta(seconds=1))
    fast = run(
        app,
        play.answer,
        battle.id,
        amy.id,
        0,
        right_answer(app, battle.id, 0),
        now=opens + timedelta(seconds=2),
    )
    assert fast == {"correct": True, "points": pytest.approx(18.7)}
    with app.app_context():
        view = play.view(battle.id, bob.id, now=opens + timedelta(seconds=3))
        assert view["phase"]["kind"] == "question"
        assert "key" not in view["current"] and "answer" not in repr(view["current"]["question"])
        assert [p["answered_current"] for p in view["players"]] == [True, False]  # progress, not the option
    # bob, still there, answers after the limit: void
    run(app, play.seen, battle.id, bob.id, now=opens + timedelta(seconds=limit - 1))
    with app.app_context(), pytest.raises(DomainError, match="作答无效"):
        play.answer(
            battle.id,
            bob.id,
            0,
            right_answer(app, battle.id, 0),
            now=opens + timedelta(seconds=limit, milliseconds=1),
        )
    with app.app_context():
        view = play.view(battle.id, bob.id, now=opens + timedelta(seconds=limit + 1))
        assert view["phase"]["kind"] == "reveal" and view["current"]["key"]
    with app.app_context(), pytest.raises(DomainError, match="已作答|作答无效"):
        play.answer(battle.id, amy.id, 0, right_answer(app, battle.id, 0), now=opens + timedelta(seconds=5))


def test_a_question_ends_as_soon_as_everyone_has_answered(app, province, bank, frozen_clock):
    amy, bob = user(app, "amy"), user(app, "bob")
    start = frozen_clock()
    battle = Started(run(app, lambda: play.start_battle("duel", [amy.id, bob.id], now=start).id))
    opens = start + timedelta(seconds=3)
    run(
        app,
        play.answer,
        battle.id,
        amy.id,
        0,
        right_answer(app, battle.id, 0),
        now=opens + timedelta(seconds=1),
    )
    run(
        app,
        play.answer,
        battle.id,
        bob.id,
        0,
        wrong_answer(app, battle.id, 0),
        now=opens + timedelta(seconds=4),
    )
    with app.app_context():
        view = play.view(battle.id, amy.id, now=opens + timedelta(seconds=5))
        assert view["phase"]["kind"] == "reveal"
        assert view["phase"]["next_at"] == (opens + timedelta(seconds=4 + 4)).isoformat()  # the key for 4 s
        assert [p["score"] for p in view["players"]] == [pytest.approx(19.3), 0]


@pytest.mark.postgres
def test_an_answer_and_a_look_never_wait_for_a_seat_row_another_transaction_holds(
    app, province, bank, frozen_clock
):
    """The process's batched seen reports (and the finish) hold seat rows for a moment: an answer
    is stored and a look is served meanwhile, without waiting for them (they date the player as
    recently), and the seat's hold does not block the answer's row either (FOR NO KEY UPDATE)."""

    amy, bob = user(app, "amy"), user(app, "bob")
    start = frozen_clock()
    battle = Started(run(app, lambda: play.start_battle("duel", [amy.id, bob.id], now=start).id))
    opens = start + timedelta(seconds=3)
    key = right_answer(app, battle.id, 0)
    with app.app_context():
        seat = db.session.scalar(
            select(BattlePlayer.id).where(BattlePlayer.battle_id == battle.id, BattlePlayer.user_id == amy.id)
        )
    done: dict = {}

    def answer_and_look() -> None:
        done["answer"] = run(app, play.answer, battle.id, amy.id, 0, key, now=opens + timedelta(seconds=1))
        run(app, play.seen, battle.id, amy.id, now=opens + timedelta(seconds=2))
        done["look"] = True

    goes_through_while_held(app, seat, answer_and_look)
    assert done == {"answer": {"correct": True, "points": pytest.approx(19.3)}, "look": True}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(BattleAnswer)) == 1


def play_out(app, battle_id, moves, start):
    """moves: per seat user, a function (position) → (seconds, answer) or None; the battle is
    played question by question from the server's phases."""
    now = start
    with app.app_context():
        battle = db.session.get(Battle, battle_id)
        count = len(battle.question_version_ids)
    for position in range(count):
        with app.app_context():
            any_user = next(iter(moves))
            phase = play.view(battle_id, any_user, now=now)["phase"]
            while phase["kind"] != "question" or phase["index"] != position:
                # the players' pages are there: their streams report every few seconds
                now = (
                    min(_at(phase["next_at"]), now + timedelta(seconds=3))
                    if phase["next_at"]
                    else now + timedelta(seconds=1)
                )
                for user_id in moves:
                    play.seen(battle_id, user_id, now=now)
                db.session.commit()
                phase = play.view(battle_id, any_user, now=now)["phase"]
            opens = _at(phase["opens_at"])
        for user_id, move in sorted(moves.items(), key=lambda item: move_seconds(item[1], position)):
            step = move(position)
            if step is None:
                continue
            seconds, answer = step
            with app.app_context():
                play.seen(battle_id, user_id, now=opens + timedelta(seconds=seconds))
                play.answer(battle_id, user_id, position, answer, now=opens + timedelta(seconds=seconds))
                db.session.commit()
        last = max((move_seconds(move, position) for move in moves.values()), default=0)
        now = opens + timedelta(seconds=min(last, 15) + 0.01)
    with app.app_context():
        play.finish(battle_id, now=now + timedelta(seconds=60))
        db.session.commit()
        return {
            p.user_id: p
            for p in db.session.scalars(select(BattlePlayer).where(BattlePlayer.battle_id == battle_id))
        }


def amy_beats_bob(app, amy, bob, start) -> dict:
    """A whole duel from ``start``: amy right at 4 s, bob wrong at 5 s, every question. The seats."""
    battle_id = run(app, lambda: play.start_battle("duel", [amy.id, bob.id], now=start).id)
    return play_out(
        app,
        battle_id,
        {
            amy.id: lambda position: (4, right_answer(app, battle_id, position)),
            bob.id: lambda position: (5, wrong_answer(app, battle_id, position)),
        },
        start,
    )


def move_seconds(move, position):
    step = move(position)
    return step[0] if step else 99


def _at(text):
    from datetime import datetime

    return datetime.fromisoformat(text)


def test_a_whole_duel_gives_a_winner_points_within_the_cap_and_the_ledger_matches_a_recount(
    app, province, bank, frozen_clock
):
    amy, bob = user(app, "amy"), user(app, "bob")
    for game in range(4):  # four wins: 4 × (1 + 3) = 16 points, capped at 10 a day
        start = frozen_clock() + timedelta(minutes=5 * game)
        seats = amy_beats_bob(app, amy, bob, start)
        assert seats[amy.id].outcome == "win" and seats[bob.id].outcome == "loss"
        assert seats[amy.id].place == 1 and seats[bob.id].place == 2
    with app.app_context():
        earned = db.session.scalar(select(func.sum(PointsEntry.amount)).where(PointsEntry.user_id == amy.id))
        assert earned == 10
        assert (
            db.session.scalar(select(func.sum(PointsEntry.amount)).where(PointsEntry.user_id == bob.id)) == 4
        )
        expected = points.recount(amy.id, rules.current())
        assert sum(expected.values()) == 10


def test_leaving_for_less_than_ten_seconds_resumes_and_for_longer_forfeits_the_rest(
    app, province, bank, frozen_clock
):
    amy, bob = user(app, "amy"), user(app, "bob")
    start = frozen_clock()
    battle = Started(run(app, lambda: play.start_battle("duel", [amy.id, bob.id], now=start).id))
    opens = start + timedelta(seconds=3)
    # bob's page is there at the opening, gone for 8 s, then back: he answers question 0 at 9 s
    run(app, play.seen, battle.id, bob.id, now=opens + timedelta(seconds=1))
    run(app, play.seen, battle.id, amy.id, now=opens + timedelta(seconds=8))
    assert run(
        app,
        play.answer,
        battle.id,
        bob.id,
        0,
        right_answer(app, battle.id, 0),
        now=opens + timedelta(seconds=9),
    )["correct"]
    run(
        app,
        play.answer,
        battle.id,
        amy.id,
        0,
        right_answer(app, battle.id, 0),
        now=opens + timedelta(seconds=9, milliseconds=500),
    )
    # then bob is gone for good: once his last report is past 10 s and the reports' slack (the page is
    # seen every few seconds), he has forfeited from 10 s after it
    from quizapp.services.battles.timeline import REPORT_SLACK

    later = opens + timedelta(seconds=9 + 10 + REPORT_SLACK + 1)
    run(app, play.seen, battle.id, amy.id, now=later - timedelta(seconds=2))
    with app.app_context():
        view = play.view(battle.id, amy.id, now=later)
        db.session.commit()
        assert [p["forfeited"] for p in view["players"]] == [False, True]
        gone = db.session.scalar(select(BattlePlayer.forfeited_at).where(BattlePlayer.user_id == bob.id))
        assert gone == opens + timedelta(seconds=9 + 10)
    with app.app_context(), pytest.raises(DomainError, match="10 秒"):
        play.answer(battle.id, bob.id, 1, right_answer(app, battle.id, 1), now=later)


def test_the_machine_scores_what_the_pool_is_worth_over_200_simulated_questions(
    app, province, create_question
):
    """Questions of known facility: 200 answers to 40 questions answered right 3 times in 4 by
    learners. The machine answers right about as often (the estimate leans to the prior by K/(n+K))."""
    from quizapp.models import ItemKind, LearningItem

    ids = [create_question("single", difficulty=2) for _ in range(40)]
    amy = user(app, "amy")
    with app.app_context():
        versions = list(
            db.session.scalars(select(QuestionVersion).where(QuestionVersion.question_id.in_(ids)))
        )
        for version in versions:
            for n in range(20):
                db.session.add(
                    LearningItem(
                        user_id=amy.id,
                        kind=ItemKind.PRACTICE,
                        question_id=version.question_id,
                        question_version_id=version.id,
                        day=frozen_day(),
                        answered_at=frozen_now(),
                        response="A",
                        score=1.0 if n % 4 else 0.0,
                        correct=bool(n % 4),
                    )
                )
        db.session.commit()
        expected = machine.estimated(20, 15, 2)
        assert expected == pytest.approx((15 + 5 * 0.6) / 25)
        rng = random.Random(7)
        steps = [step for _ in range(5) for step in machine.plan(versions, 15, rng)]
        assert len(steps) == 200
        rate = mean(step["correct"] for step in steps)
        assert abs(rate - expected) < 0.08, rate
        assert all(1 < step["seconds"] < 15 for step in steps)
        # a question nobody has answered: its difficulty's prior
        assert machine.estimated(0, 0, 3) == machine.PRIOR[3]


def frozen_now():
    from quizapp import clock

    return clock.utcnow()


def frozen_day():
    return frozen_now().date()


def test_a_battle_against_the_machine_runs_to_the_end_on_the_plan(app, province, bank, frozen_clock):
    amy = user(app, "amy")
    start = frozen_clock()
    battle = Started(run(app, lambda: play.start_battle("machine", [amy.id], now=start).id))
    seats = play_out(
        app, battle.id, {amy.id: lambda position: (4, right_answer(app, battle.id, position))}, start
    )
    with app.app_context():
        plan = db.session.get(Battle, battle.id).machine_plan
    machine_seat = seats[None]
    assert machine_seat.right == sum(step["correct"] for step in plan)
    assert seats[amy.id].score == pytest.approx(5 * 17.3)
    assert seats[amy.id].outcome == ("win" if seats[amy.id].score > machine_seat.score else "loss")


def test_a_machine_battle_wakes_its_streams_when_the_machine_answers(app, province, bank, frozen_clock):
    """The machine's answer changes the view by the clock alone (it shows answered, and may end the
    question): a question's next_at is that moment while it is still to come, then the deadline."""
    amy = user(app, "amy")
    start = frozen_clock()
    battle = Started(run(app, lambda: play.start_battle("machine", [amy.id], now=start).id))
    with app.app_context():
        stored = db.session.get(Battle, battle.id)
        opens = start + timedelta(seconds=stored.lead_seconds)
        deadline = opens + timedelta(seconds=stored.question_seconds)
        machine_at = opens + timedelta(seconds=stored.machine_plan[0]["seconds"])
    run(
        app,
        play.answer,
        battle.id,
        amy.id,
        0,
        right_answer(app, battle.id, 0),
        now=opens + timedelta(seconds=0.5),
    )
    with app.app_context():
        before = play.view(battle.id, amy.id, now=opens + timedelta(seconds=0.6))["phase"]
        assert (before["kind"], _at(before["next_at"])) == ("question", machine_at)
        after = play.view(battle.id, amy.id, now=machine_at)["phase"]
        assert after["kind"] == "reveal"  # both have answered: the key shows at once
        assert _at(after["next_at"]) == machine_at + timedelta(seconds=stored.reveal_seconds)
    # with no answer from amy the machine's answer ends nothing, and the deadline is the next change
    other = Started(run(app, lambda: play.start_battle("machine", [amy.id], now=start).id))
    with app.app_context():
        plan = db.session.get(Battle, other.id).machine_plan
        later = play.view(other.id, amy.id, now=opens + timedelta(seconds=plan[0]["seconds"] + 0.1))["phase"]
        assert (later["kind"], _at(later["next_at"])) == ("question", deadline)


def test_answers_faster_than_anyone_can_read_hold_the_seat_out_of_points(app, province, bank, frozen_clock):
    """The papers' reading-speed floor applies: every answer at 0.5 s holds amy's seat (no points,
    out of the leaderboards); bob, who read, is paid."""
    amy, bob = user(app, "amy"), user(app, "bob")
    start = frozen_clock()
    battle = Started(run(app, lambda: play.start_battle("duel", [amy.id, bob.id], now=start).id))
    seats = play_out(
        app,
        battle.id,
        {
            amy.id: lambda position: (0.5, right_answer(app, battle.id, position)),
            bob.id: lambda position: (6, right_answer(app, battle.id, position)),
        },
        start,
    )
    assert seats[amy.id].held and seats[amy.id].signals[0]["code"] == "fast" and not seats[bob.id].held
    with app.app_context():
        paid = dict(
            db.session.execute(
                select(PointsEntry.user_id, func.sum(PointsEntry.amount)).group_by(PointsEntry.user_id)
            ).all()
        )
        assert paid == {bob.id: 1}  # bob played to the end (and lost); amy's win is held


def test_a_challenge_waits_for_the_named_colleague_who_accepts_or_declines(app, province, bank, frozen_clock):
    amy, bob, ann = (user(app, name) for name in ("amy", "bob", "ann"))
    now = frozen_clock()
    battle_id = run(app, match.challenge, amy, "bob", now=now)
    with app.app_context():
        assert match.invitations(bob.id) == [{"battle": battle_id, "from": amy.name}]
        assert match.invitations(ann.id) == []
        assert play.view(battle_id, amy.id, now=now)["phase"]["kind"] == "invited"
    with app.app_context(), pytest.raises(DomainError):
        match.respond(ann, battle_id, True, now=now)  # not hers to answer
    run(app, match.respond, bob, battle_id, True, now=now + timedelta(seconds=5))
    with app.app_context():
        battle = db.session.get(Battle, battle_id)
        assert battle.status == "running" and battle.started_at == now + timedelta(seconds=5)
    declined = run(app, match.challenge, ann, "amy", now=now)
    run(app, match.respond, amy, declined, False, now=now)
    with app.app_context():
        assert db.session.get(Battle, declined).status == "declined"


@pytest.mark.parametrize("counted", [False, True])
def test_battles_count_toward_the_monthly_participation_only_where_the_admin_chose(
    app, province, bank, frozen_clock, counted
):
    """BATTLE_IN_MONTHLY: a battle played to the end counts like a round's attempt in the month's
    participation and person-times of the player's unit (its points go to the ledger either way)."""
    from quizapp.models import Unit
    from quizapp.services import rankings
    from quizapp.services.periods import month_period

    app.config["BATTLE_IN_MONTHLY"] = counted
    amy, bob = user(app, "amy"), user(app, "bob")
    start = frozen_clock()
    amy_beats_bob(app, amy, bob, start)
    with app.app_context():
        tz = app.config["TZINFO"]
        _, totals = rankings.subtree_totals(month_period(start.astimezone(tz).date()), tz)
        a1 = db.session.scalar(select(Unit.id).where(Unit.code == "A1"))
        assert totals[a1]["participants"] == (1 if counted else 0)
        assert totals[a1]["person_times"] == (1 if counted else 0)
        assert totals[a1]["points"] == 4  # amy's win and play, counted or not


def test_the_month_battle_board_ranks_by_wins_then_win_rate_and_its_page_shows_it(
    app, province, bank, frozen_clock, login_as
):
    amy, bob = user(app, "amy"), user(app, "bob")
    start = frozen_clock()
    amy_beats_bob(app, amy, bob, start)
    root = login_as("root")
    page = root.get("/rankings/people?board=battle&unit=P").get_data(as_text=True)
    assert "月度对战" in page and "胜场" in page
    assert page.index(amy.name) < page.index(bob.name)
    sheet = root.get("/rankings/people?board=battle&unit=P&format=xlsx")
    assert sheet.status_code == 200


def test_the_unit_ladder_sums_the_wins_of_each_child_units_members(app, province, bank, frozen_clock):
    from quizapp.models import Unit
    from quizapp.services.battles import counting

    amy, bob = user(app, "amy"), user(app, "bob")
    start = frozen_clock()
    for game in range(2):
        begin = start + timedelta(minutes=5 * game)
        amy_beats_bob(app, amy, bob, begin)
    with app.app_context():
        top = db.session.scalar(select(Unit).where(Unit.code == "P"))
        ladder = counting.unit_ladder(top, start - timedelta(days=1), start + timedelta(days=1))
        assert [(row["name"], row["wins"]) for row in ladder] == [("甲市", 2), ("乙市", 0)]


def test_the_board_wakes_every_stream_of_a_changed_battle_and_no_other():
    """Many streams of many battles wait at once, each battle on a lock of its own: a change of one
    battle wakes all of its streams with the new version, none of another battle's; a change before
    any stream of a battle waits is not missed."""
    import threading
    import time

    from quizapp.services.battles.push import Board

    board = Board()
    board.bump(99)  # no stream of battle 99 here yet
    assert board.wait(99, 0, timeout=5) == 1
    woke: dict[tuple[int, int], tuple[int, float]] = {}
    streams = {
        (b, n): threading.Thread(
            target=lambda b=b, n=n: woke.__setitem__((b, n), (board.wait(b, 0, timeout=10), time.monotonic()))
        )
        for b in range(20)
        for n in range(5)
    }
    for thread in streams.values():
        thread.start()
    deadline = time.monotonic() + 10
    while len(board.conditions) < 21 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # every stream inside its wait
    changed = time.monotonic()
    even, odd = range(0, 20, 2), range(1, 20, 2)
    for battle in even:
        board.bump(battle)
    for (battle, _), thread in streams.items():
        if battle in even:
            thread.join(timeout=10)
    assert sorted(woke) == [(b, n) for b in even for n in range(5)]  # the odd battles' streams still wait
    assert all(version == 1 and at - changed < 2 for version, at in woke.values())
    for battle in odd:
        board.bump(battle)
    for thread in streams.values():
        thread.join(timeout=10)
    assert len(woke) == 100 and {version for version, _ in woke.values()} == {1}


def seats_seen(app, battle_id):
    with app.app_context():
        return dict(
            db.session.execute(
                select(BattlePlayer.user_id, BattlePlayer.last_seen_at).where(
                    BattlePlayer.battle_id == battle_id
                )
            ).all()
        )


def test_the_reports_book_dates_running_seats_in_one_write_but_not_a_forfeited_seat_or_an_ended_battle(
    app, province, bank, frozen_clock, create_user
):
    from quizapp.services.battles import presence

    units, _ = province
    create_user("cat", unit=units["A1"])
    create_user("dan", unit=units["B1"])
    amy, bob, cat, dan = (user(app, name) for name in ("amy", "bob", "cat", "dan"))
    start = frozen_clock()
    running = run(app, lambda: play.start_battle("duel", [amy.id, bob.id], now=start).id)
    ended = run(app, lambda: play.start_battle("duel", [cat.id, dan.id], now=start).id)
    with app.app_context():
        db.session.execute(
            update(BattlePlayer)
            .where(BattlePlayer.battle_id == running, BattlePlayer.user_id == bob.id)
            .values(forfeited_at=start)
        )
        db.session.execute(update(Battle).where(Battle.id == ended).values(status="finished"))
        db.session.commit()
    later = start + timedelta(seconds=5)
    with app.app_context():
        presence.write({(running, amy.id): later, (running, bob.id): later, (ended, cat.id): later})
    assert seats_seen(app, running) == {amy.id: later, bob.id: start}
    assert seats_seen(app, ended) == {cat.id: start, dan.id: start}


@pytest.mark.postgres
def test_the_reports_write_skips_a_seat_another_transaction_holds_and_holds_no_seat_after_it(
    app, province, bank, frozen_clock
):
    """The reports of a process are one statement on a connection of its own (autocommit): a seat
    row another transaction holds is skipped, not waited for, and nothing stays held once it is
    written — an answer's transaction never queues behind it."""

    from sqlalchemy import text

    from quizapp.services.battles import presence

    amy, bob = user(app, "amy"), user(app, "bob")
    start = frozen_clock()
    battle = run(app, lambda: play.start_battle("duel", [amy.id, bob.id], now=start).id)
    with app.app_context():
        seat = db.session.scalar(
            select(BattlePlayer.id).where(BattlePlayer.battle_id == battle, BattlePlayer.user_id == amy.id)
        )
    later = start + timedelta(seconds=5)

    def write() -> None:
        with app.app_context():
            presence.write({(battle, amy.id): later, (battle, bob.id): later})

    goes_through_while_held(app, seat, write, lock="FOR UPDATE")
    assert seats_seen(app, battle) == {amy.id: start, bob.id: later}
    with app.app_context():  # nothing of the write is left holding bob's seat
        db.session.execute(text("SET LOCAL lock_timeout = '2s'"))
        db.session.execute(
            text("SELECT id FROM battle_player WHERE battle_id = :b FOR UPDATE NOWAIT"), {"b": battle}
        )
        db.session.rollback()


@pytest.mark.postgres
def test_an_answer_skips_recording_a_forfeit_whose_seat_another_transaction_holds(
    app, province, bank, frozen_clock
):
    """Many of a battle's transactions find the same person gone at once: an answer leaves a gone
    person's forfeit to the transaction that holds their seat instead of queueing behind it; the
    finish records it."""

    amy, bob = user(app, "amy"), user(app, "bob")
    start = frozen_clock()
    battle = Started(run(app, lambda: play.start_battle("duel", [amy.id, bob.id], now=start).id))
    opens = start + timedelta(seconds=3)
    # bob was last seen at the start: at 15 s past the opening he is gone (10 s and the slack)
    amy_at = opens + timedelta(seconds=14, milliseconds=900)
    run(app, play.seen, battle.id, amy.id, now=amy_at - timedelta(seconds=1))
    with app.app_context():
        seat = db.session.scalar(
            select(BattlePlayer.id).where(BattlePlayer.battle_id == battle.id, BattlePlayer.user_id == bob.id)
        )
    done: dict = {}

    def answer() -> None:
        done["answer"] = run(
            app, play.answer, battle.id, amy.id, 0, right_answer(app, battle.id, 0), now=amy_at
        )

    goes_through_while_held(app, seat, answer)
    assert done["answer"]["correct"] is True
    with app.app_context():
        assert db.session.get(BattlePlayer, seat).forfeited_at is None  # left to whoever held it
        play.finish(battle.id, now=start + timedelta(minutes=5))
        db.session.commit()
        assert db.session.get(BattlePlayer, seat).forfeited_at == start + timedelta(seconds=10)
