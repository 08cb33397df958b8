"""CI gate: the full question set on the extractive path must stay at or above eval/floors.json."""

import json
from pathlib import Path

import pytest

from assistant.evaluation import load_questions, run_questions
from assistant.evaluation.report import check_floors, load_floors, write_reports

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_full_question_set_stays_above_the_floors(assistant):
    floors = load_floors(ROOT / "eval" / "floors.json")
    result = run_questions(assistant, load_questions(ROOT / "eval" / "questions.jsonl"),
                           generator="extractive", k=floors.get("k"), progress=False)
    # The reports land where CI collects artifacts, so a failure can be read, not just seen.
    write_reports(result, ROOT / "test-artifacts" / "eval")
    problems = check_floors(result.metrics, floors)
    assert not problems, "\n".join(problems) + "\n" + json.dumps(result.metrics, indent=1) + \
        "\nSee test-artifacts/eval/report.md for the failures."
