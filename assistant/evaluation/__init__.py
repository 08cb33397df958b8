"""Evaluation: run a fixed question set through ask() and score retrieval, answers, citations, refusals.

Modules, in the order a run uses them: questions (load the set), runner (ask every question),
support (judge each citation), metrics (the numbers), report (json, markdown, chart, compare),
beir (retrieval-only scoring of a BEIR folder), cli (`assistant eval`).
"""

from .questions import Question, load_questions
from .runner import EvalResult, run_questions

__all__ = ["Question", "load_questions", "EvalResult", "run_questions"]
