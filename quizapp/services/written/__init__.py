"""Marking written answers (简答, 情景应答) after a round closes, as examiners mark.

A round with written questions on its papers does not go straight to its results when it closes: it
goes to **marking** (评阅中). Every written answer gets two marking tasks, for two different markers
the admin chose for the round (``RoundMarker``).
Markers see answers without names, units or usernames, one question at a time across takers, in a
random order, and mark keypoint by keypoint (each keypoint 0 to its points, in halves; deductions
ticked). An answer left empty is no answer (scores 0, nothing to mark). A marker never marks a taker of their own unit's subtree unless the admin allowed it, never
their own answer, and never the same answer twice (``UNIQUE(answer, marker)``).

**The final mark** of an answer (DESIGN-style rule, in the one function that computes it:
``_resolve``): when the two totals differ by at most the round's gap (``marking_gap``, a percentage
of the question's points, default 20%), their average. Otherwise a third marker marks it, and the
final mark is, by the round's ``third_rule``: ``closest`` (default) the average of the two closest of
the three totals — on a tie, the third's total; ``third`` the third's total. The answer's score is the
final mark over the rubric's points (1 mark a question, like every other question).

When every written answer of the round has its final mark, the next close sweep grades the attempts
again with those scores, ranks them and writes the snapshot and the bulletin (``closing``).

The rubric an answer is marked against is that of the question version the taker answered: an edit
of the question makes a new version (versions with answers are never changed), so a rubric cannot
change under marking; a mark sent with the stamp of another rubric (a form open across an edit of an
unused version) is refused.
"""

from .marks import MarkRefused, mark, marker_rounds, next_task, settle_marked, third_mark
from .oversight import complete, progress, quality, reassign
from .tasks import THIRD_RULES, add_markers, assign, begin_marking, ensure_marker, has_written, rubric_stamp

__all__ = [
    "THIRD_RULES",
    "MarkRefused",
    "add_markers",
    "assign",
    "begin_marking",
    "complete",
    "ensure_marker",
    "has_written",
    "mark",
    "marker_rounds",
    "next_task",
    "progress",
    "quality",
    "reassign",
    "settle_marked",
    "rubric_stamp",
    "third_mark",
]
