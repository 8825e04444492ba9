"""`python -m quizapp …` is the same as the `quizapp` command."""

from .cli import main

main()
