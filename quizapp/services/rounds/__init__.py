"""Rounds: 周周练, 月月比 and 专项考试 — one model for all three (DESIGN §3), one module per concern:

- ``settings``: the one set of round parameters (``RoundSettings``) and the one window-and-title rule;
- ``manage``: creating, changing and looking up rounds, extending a taker's time;
- ``papers``: drawing the paper from the blueprint, and its per-process public copy;
- ``eligibility``: who may take part, which rounds a person sees;
- ``attempts``: the hot path — start, autosave, submit, auto-submit (its statements built once);
- ``marking``: grading finished attempts and ranking a round, set-based;
- ``closing``: the one close of a round (and the repair of rounds closed before it was one);
- ``planning``: the coming rounds from the schedule templates;
- ``views``: what a taker sees.

Callers use ``services.rounds`` as one module: the names below are its public face.
"""

from .attempts import (
    OPTION_LETTERS,
    TIME_UP_TOLERANCE,
    AlreadySubmitted,
    DeadlinePassed,
    displayed_options,
    finish_overdue,
    get_attempt,
    save_answer,
    start_attempt,
    submit,
    to_display,
)
from .closing import close_round, repair_closed_rounds
from .eligibility import is_eligible, visible_rounds
from .manage import create_round, extend_attempt, get_round, update_round
from .marking import grade_attempts, rank_round
from .papers import (
    PaperError,
    PaperItem,
    attempt_paper,
    attempt_paper_rows,
    check_blueprint,
    describe_row,
    draw_paper,
    paper_rows,
    pool_sizes,
    public_paper,
)
from .planning import TEMPLATE_FIELDS, plan_rounds, save_template, template_for
from .settings import Period, RoundSettings, clean_blueprint, template_period, validate, window_and_title
from .views import (
    attempt_view,
    category_summary,
    result_of,
    results_visible,
    review_item,
    rounds_for_user,
    wrong_numbers,
)

__all__ = [
    "TEMPLATE_FIELDS",
    "OPTION_LETTERS",
    "TIME_UP_TOLERANCE",
    "AlreadySubmitted",
    "DeadlinePassed",
    "PaperError",
    "PaperItem",
    "Period",
    "RoundSettings",
    "attempt_view",
    "category_summary",
    "check_blueprint",
    "clean_blueprint",
    "close_round",
    "create_round",
    "describe_row",
    "displayed_options",
    "draw_paper",
    "extend_attempt",
    "finish_overdue",
    "get_attempt",
    "get_round",
    "grade_attempts",
    "is_eligible",
    "paper_rows",
    "pool_sizes",
    "attempt_paper",
    "attempt_paper_rows",
    "plan_rounds",
    "public_paper",
    "rank_round",
    "repair_closed_rounds",
    "result_of",
    "results_visible",
    "review_item",
    "rounds_for_user",
    "save_answer",
    "save_template",
    "start_attempt",
    "submit",
    "template_for",
    "template_period",
    "to_display",
    "update_round",
    "validate",
    "visible_rounds",
    "wrong_numbers",
    "window_and_title",
]
