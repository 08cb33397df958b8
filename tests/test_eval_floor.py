"""CI gate: both question sets on the extractive path must stay at or above their floors."""

import json
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.evaluation import load_questions, run_questions
from assistant.evaluation.report import check_floors, load_floors, write_reports

ROOT = Path(__file__).resolve().parent.parent
CLAPNQ = ROOT / "eval" / "clapnq"


@pytest.fixture(scope="module")
def clapnq_assistant(tmp_path_factory):
    """The ClapNQ passages (596 short ones) in their own index."""
    a = Assistant(corpus_dir=CLAPNQ / "corpus", index_dir=tmp_path_factory.mktemp("clapnq-index"))
    a.index(progress=False)
    return a


@pytest.mark.slow
@pytest.mark.parametrize("name, questions, floors, fixture", [
    ("default", ROOT / "eval" / "questions.jsonl", ROOT / "eval" / "floors.json", "assistant"),
    ("clapnq", CLAPNQ / "questions.jsonl", CLAPNQ / "floors.json", "clapnq_assistant"),
])
def test_question_set_stays_above_the_floors(request, name, questions, floors, fixture):
    limits = load_floors(floors)
    result = run_questions(request.getfixturevalue(fixture),
                           load_questions(questions, split=limits.get("split", "all")),
                           generator="extractive", k=limits.get("k"), progress=False)
    # The reports land where CI collects artifacts, so a failure can be read, not just seen.
    write_reports(result, ROOT / "test-artifacts" / f"eval-{name}")
    problems = check_floors(result.metrics, limits)
    assert not problems, "\n".join(problems) + "\n" + json.dumps(result.metrics, indent=1) + \
        f"\nSee test-artifacts/eval-{name}/report.md for the failures."
