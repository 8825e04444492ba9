"""对战: 1v1, four-player and 人机对战 battles (see each module's docstring for its rules).

``match`` finds opponents (the queue, the machine after the wait, challenges); ``play`` runs a
battle on the server's clock (``timeline``) and finishes it; ``machine`` is the machine opponent;
``counting`` turns results into points, leaderboards and the unit ladder; ``push`` wakes the
battle's event streams in every process; ``streams`` builds their views from rows each process
shares.
"""

from . import counting, machine, match, play, push, streams, timeline

__all__ = ["counting", "machine", "match", "play", "push", "streams", "timeline"]
