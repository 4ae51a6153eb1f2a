"""Scoring: pure functions from (instrument, answers) to an explained result. No web, no database."""

from scoring.answers import AnswerError, AnswerProblem, answer_problem, check_answers, shown_items, visible_only
from scoring.engine import ENGINE_VERSION, score, score_checked
from scoring.result import ScoreResult

__all__ = [
    "ENGINE_VERSION",
    "AnswerError",
    "AnswerProblem",
    "ScoreResult",
    "answer_problem",
    "check_answers",
    "score",
    "score_checked",
    "shown_items",
    "visible_only",
]
