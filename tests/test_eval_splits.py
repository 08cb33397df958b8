"""The dev/test splits and the ClapNQ set ship in eval/, so a fresh clone measures the same way."""

import importlib.util
import json
from collections import Counter

import pytest

from assistant.errors import ConfigError
from assistant.evaluation import load_questions
from tests.conftest import ROOT

SETS = {"default": ROOT / "eval" / "questions.jsonl",
        "clapnq": ROOT / "eval" / "clapnq" / "questions.jsonl"}


def _split_module():
    spec = importlib.util.spec_from_file_location("split", ROOT / "eval" / "split.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", SETS)
def test_every_question_is_in_a_split_and_each_stratum_is_halved(name):
    rows = [json.loads(line) for line in SETS[name].read_text().splitlines()]
    assert {r["split"] for r in rows} == {"dev", "test"}
    strata = Counter((r["answerable"], r["type"], r["split"]) for r in rows)
    for answerable, kind, _ in strata:
        assert abs(strata[answerable, kind, "dev"] - strata[answerable, kind, "test"]) <= 1


@pytest.mark.parametrize("name", SETS)
def test_the_split_is_what_eval_split_py_writes(name):
    rows = [json.loads(line) for line in SETS[name].read_text().splitlines()]
    fresh = [{k: v for k, v in r.items() if k != "split"} for r in rows]
    _split_module().assign(fresh)
    assert [r["split"] for r in fresh] == [r["split"] for r in rows]


def test_new_questions_join_without_moving_old_ones():
    split = _split_module()
    rows = [{"id": f"q{i}", "answerable": True, "type": "fact"} for i in range(6)]
    split.assign(rows)
    before = [r["split"] for r in rows]
    rows.append({"id": "q-new", "answerable": True, "type": "fact"})
    split.assign(rows)
    assert [r["split"] for r in rows[:6]] == before and rows[-1]["split"] in ("dev", "test")


def test_load_questions_picks_one_split():
    test = load_questions(SETS["default"], split="test")
    dev = load_questions(SETS["default"], split="dev")
    assert {q.split for q in test} == {"test"} and {q.split for q in dev} == {"dev"}
    assert not {q.id for q in test} & {q.id for q in dev}
    assert len(test) + len(dev) == len(load_questions(SETS["default"]))
    with pytest.raises(ConfigError, match="not one of"):
        load_questions(SETS["default"], split="train")


def test_clapnq_ships_with_its_passages_and_attribution():
    corpus = ROOT / "eval" / "clapnq" / "corpus"
    for q in load_questions(SETS["clapnq"]):
        assert all((corpus / s).is_file() for s in q.sources), q.id
    note = (ROOT / "eval" / "clapnq" / "LICENSE.md").read_text()
    assert "Apache License" in note and "CC BY-SA" in (ROOT / "eval" / "clapnq" / "README.md").read_text()


def test_the_shipped_refusal_model_is_what_calibrate_fits():
    import numpy as np

    from assistant.abstain import Calibration
    from assistant.evaluation.calibrate import FEATURES, operating_point

    model = Calibration.load()
    assert model.features == FEATURES and len(model.weights) == len(FEATURES)
    assert 0 < model.threshold <= model.query_threshold < 1
    # A web query (no capital, no question mark) is held to its own operating point.
    assert model.threshold_for({"written": 0.0}) == model.query_threshold
    assert model.threshold_for({"written": 1.0}) == model.threshold
    # The operating point refuses at most the allowed share of each set's answerable questions.
    p = np.array([0.9, 0.8, 0.2, 0.7, 0.1, 0.3, 0.6, 0.05])
    y = np.array([True, True, True, True, False, False, True, False])
    g = np.array(["a", "a", "a", "a", "a", "b", "b", "b"])
    t = operating_point(p, y, g, max_false=0.25)
    assert all(np.mean(p[(g == s) & y] < t) <= 0.25 for s in "ab") and t > 0.1
