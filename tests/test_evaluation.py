"""Evaluation: metrics on hand-made cases, citation judging, the question set, reports, and `assistant eval` end to end."""

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from assistant.errors import ConfigError
from assistant.evaluation import metrics as m
from assistant.evaluation import report as rp
from assistant.evaluation.beir import doc_ids, read_qrels
from assistant.evaluation.cli import eval_command
from assistant.evaluation.questions import Question, load_questions
from assistant.evaluation.runner import ask_with_history, score_answer, summarize
from assistant.evaluation.support import judge, statements
from assistant.records import Answer, Citation, Passage

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "questions.jsonl"


def passage(source, text="", start=0, also_in=()):
    return Passage(chunk_id=source, article_id=source, source=source, title="t", date=None, url=None,
                   heading=None, text=text, start=start, end=start + len(text), score=0.0,
                   also_in=list(also_in))


# --- retrieval ---------------------------------------------------------------------------------

def test_ranking_counts_collapsed_duplicates_as_retrieved():
    ranked = m.ranking([passage("a"), passage("b", also_in=["c"])])
    assert ranked == [{"a"}, {"b", "c"}]
    assert m.hit_at_k(ranked, ["c"], 2) == 1.0
    assert m.hit_at_k(ranked, ["c"], 1) == 0.0


def test_retrieval_metrics_by_hand():
    ranked = [{"x"}, {"a"}, {"x"}, {"b"}]
    assert m.hit_at_k(ranked, ["a", "b"], 1) == 0.0
    assert m.hit_at_k(ranked, ["a", "b"], 2) == 1.0
    assert m.recall_at_k(ranked, ["a", "b"], 2) == 0.5
    assert m.recall_at_k(ranked, ["a", "b"], 4) == 1.0
    assert m.reciprocal_rank(ranked, ["a", "b"]) == 0.5
    assert m.reciprocal_rank(ranked, ["z"]) == 0.0
    assert m.reciprocal_rank(ranked, ["b"], k=3) == 0.0
    # DCG = 1/log2(3) + 1/log2(5); ideal = 1/log2(2) + 1/log2(3)
    expected = (1 / np.log2(3) + 1 / np.log2(5)) / (1 + 1 / np.log2(3))
    assert m.ndcg_at_k(ranked, ["a", "b"], 4) == pytest.approx(expected)


def test_ndcg_counts_an_article_once_and_uses_grades():
    # Two passages of article a: the second adds nothing.
    assert m.ndcg_at_k([{"a"}, {"a"}], ["a"], 2) == 1.0
    assert m.ndcg_at_k([{"x"}, {"a"}], ["a"], 2) == pytest.approx(1 / np.log2(3))
    # Graded (BEIR qrels): the grade-2 document first is ideal, the other order is not.
    assert m.ndcg_at_k([{"a"}, {"b"}], {"a": 2, "b": 1}, 2) == 1.0
    assert m.ndcg_at_k([{"b"}, {"a"}], {"a": 2, "b": 1}, 2) < 1.0
    # One passage standing for two gold duplicates never scores above 1.
    assert m.ndcg_at_k([{"a", "b"}], ["a", "b"], 2) == 1.0
    assert m.ndcg_at_k([{"a"}], [], 2) == 0.0


# --- answers, refusals, latency ----------------------------------------------------------------

@pytest.mark.parametrize("text, accepted, expected", [
    ("It was held in BAKU, Azerbaijan. [1]", ["Baku"], True),
    ("Ambassador Abdullah bin Saud al-Anzi [2]", ["Al-Anzi"], True),
    ("“Building our Multi-stakeholder Digital Future”", ["building our multi stakeholder"], True),
    ("the Iraqi ambassador", ["Iraq"], True),         # a word may go on: Iraq -> Iraqi
    ("in 2013 they met", ["13"], False),              # but must start at a word boundary
    ("he said so", ["AI"], False),
    ("data transit [1]", ["international transit", "data transit"], True),
    ("the [1] marker is not text", ["1"], False),
    ("anything", [], False),
])
def test_answer_matching(text, accepted, expected):
    assert m.answer_matches(text, accepted) is expected


def test_abstention_scores_by_hand():
    # (abstained, answerable): 2 right refusals, 1 false refusal, 1 missed refusal, 2 answered.
    pairs = [(True, False), (True, False), (True, True), (False, False), (False, True), (False, True)]
    s = m.abstention_scores(pairs)
    assert s["abstention_precision"] == pytest.approx(2 / 3)
    assert s["abstention_recall"] == pytest.approx(2 / 3)
    assert s["false_abstention_rate"] == pytest.approx(1 / 3)
    assert m.abstention_scores([(False, True)])["abstention_precision"] is None


def test_percentiles_and_latency():
    assert m.percentile([1, 2, 3, 4], 50) == 2.5
    assert m.percentile([10], 95) == 10
    assert m.percentile([], 50) == 0.0
    lat = m.latency([{"embed": 0.01, "total": 0.1}, {"embed": 0.03, "total": 0.3}])
    assert lat["embed"] == {"p50_ms": 20.0, "p95_ms": 29.0}
    assert lat["total"]["p50_ms"] == 200.0


def test_verify_repairs_are_summed_from_notes():
    notes = ["verify: repointed=1 removed=0 dropped=2", "abstained: x", "verify: repointed=3 removed=1 dropped=0"]
    assert m.verify_repairs(notes) == {"repointed": 4, "removed": 1, "dropped": 2}
    assert m.verify_repairs(["other"]) == {}


# --- citations ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Baku hosts it. [1] It runs to 28 November. [2]", [("Baku hosts it.", [1]), ("It runs to 28 November.", [2])]),
    ("Baku hosts it [1]. It runs to 28 November [2][1].", [("Baku hosts it", [1]), ("It runs to 28 November", [2, 1])]),
    ("Uncited first. Baku hosts it. [1]", [("Uncited first.", []), ("Baku hosts it.", [1])]),
    ("Heading without a stop [1] Next sentence here. [2]", [("Heading without a stop", [1]), ("Next sentence here.", [2])]),
])
def test_statements_attach_markers_to_the_sentence_they_close(text, expected):
    assert [(s.text, s.markers) for s in statements(text)] == expected


ARTICLE = "The conference is held in Baku, Azerbaijan. Trade should reach 20 billion dollars yearly."


def cited(text, quotes, sources=("gold.txt",), also_in=()):
    passages = [passage(s, ARTICLE, also_in=also_in) for s in sources]
    cites = [Citation(marker=i + 1, source=sources[i], title="t", date=None, quote=q,
                      start=ARTICLE.find(q), end=ARTICLE.find(q) + len(q), passage=i)
             for i, q in enumerate(quotes)]
    return Answer(question="q", text=text, citations=cites, passages=passages)


def test_a_verbatim_quote_from_a_gold_source_is_right():
    s = judge(cited("The conference is held in Baku, Azerbaijan. [1]",
                    ["The conference is held in Baku, Azerbaijan."]), {"gold.txt"})
    assert s[0].right == [1] and s[0].supported


@pytest.mark.parametrize("answer, gold, why", [
    (cited("Held in Baku. [1]", ["The conference is held in Baku, Azerbaijan."], ("other.txt",)),
     {"gold.txt"}, "not a gold source"),
    (cited("Held in Baku. [1]", ["The conference is held in Tbilisi."]), {"gold.txt"}, "quote not in passage"),
    (cited("Trade should reach 20 billion dollars. [1]", ["The conference is held in Baku, Azerbaijan."]),
     {"gold.txt"}, "quote does not support"),
    (cited("Held in Baku. [2]", ["The conference is held in Baku, Azerbaijan."]), {"gold.txt"}, "dangling marker"),
])
def test_wrong_citations_say_why(answer, gold, why):
    s = judge(answer, gold)
    assert s[0].right == [] and s[0].wrong == {s[0].markers[0]: why}


def test_a_collapsed_duplicate_of_a_gold_article_counts():
    answer = cited("Held in Baku. [1]", ["The conference is held in Baku, Azerbaijan."],
                   ("copy.txt",), also_in=["gold.txt"])
    assert judge(answer, {"gold.txt"})[0].right == [1]


class FakeEmbedder:
    """Vectors chosen by hand: the paraphrase and its quote point the same way."""

    def embed_cached(self, texts):
        return np.array([[1.0, 0.0] if "Azerbaijan" in t or "Caspian" in t else [0.0, 1.0] for t in texts])


def test_a_paraphrase_is_supported_through_the_embedder():
    answer = cited("The meeting took place on the Caspian coast. [1]",
                   ["The conference is held in Baku, Azerbaijan."])
    assert judge(answer, {"gold.txt"})[0].wrong  # no shared words, no embedder
    assert judge(answer, {"gold.txt"}, FakeEmbedder())[0].right == [1]


# --- questions, runner -------------------------------------------------------------------------

def test_the_question_set_is_well_formed():
    qs = load_questions(QUESTIONS)
    assert len(qs) >= 80
    assert sum(not q.answerable for q in qs) >= 15
    assert all(q.history for q in qs if q.type == "followup")


@pytest.mark.parametrize("questions", [QUESTIONS, *sorted((ROOT / "eval").glob("fresh*-dev.jsonl"))],
                         ids=lambda p: p.name)
def test_every_accepted_answer_is_in_the_cleaned_text_of_a_gold_source(questions):
    # The answer must be findable where ask() can quote it: in article text, not metadata.
    from assistant.ingest import read_corpus

    texts = {a.source: a.text for a in read_corpus(ROOT / "corpus").articles}
    for q in load_questions(questions):
        assert all(s in texts for s in q.sources), q.id
        for accepted in q.answers:
            assert any(m.answer_matches(texts[s], [accepted]) for s in q.sources), (q.id, accepted)


@pytest.mark.parametrize("line, message", [
    ("{not json", "invalid JSON"),
    ('{"id": "a", "question": "x"}', "missing answers"),
    ('{"id": "a", "question": "x", "answers": [], "sources": [], "answerable": true, "type": "f"}',
     "at least one accepted answer"),
])
def test_bad_question_files_say_what_to_fix(tmp_path, line, message):
    path = tmp_path / "q.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(ConfigError, match=message):
        load_questions(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_questions(tmp_path / "missing.jsonl")


def q(id="q1", answerable=True, sources=("gold.txt",), answers=("Baku",), type="fact", history=()):
    return Question(id, "Where?", list(answers), list(sources), answerable, type, list(history))


def test_score_answer_and_summary():
    right = cited("The conference is held in Baku, Azerbaijan. [1]", ["The conference is held in Baku, Azerbaijan."])
    refused = Answer(question="q", text="The corpus does not say.", passages=[passage("x.txt")], abstained=True)
    results = [score_answer(q("q1"), right, 5), score_answer(q("q2"), refused, 5),
               score_answer(q("q3", answerable=False, sources=(), answers=(), type="unanswerable"), refused, 5),
               score_answer(q("q4", answerable=False, sources=(), answers=(), type="unanswerable"), right, 5)]
    s = summarize(results, {"k": 5})
    assert s.metrics["answer_accuracy"] == 0.5 and s.metrics["accuracy"] == 0.5
    assert s.metrics["hit@k"] == 0.5 and s.metrics["mrr"] == 0.5
    assert s.metrics["citation_precision"] == 1.0 and s.metrics["citation_recall"] == 1.0
    assert s.metrics["abstention_precision"] == 0.5 and s.metrics["false_abstention_rate"] == 0.5
    assert [f["kind"] for f in s.failures] == ["false abstention; gold article not retrieved",
                                              "answered an unanswerable question"]
    assert s.by_type["unanswerable"]["accuracy"] == 0.5 and s.by_type["unanswerable"]["hit@k"] is None


class RecordingAssistant:
    def __init__(self):
        self.calls = []

    def ask(self, question, history=None, generator=None, k=None):
        self.calls.append((question, history))
        return Answer(question=question, text=f"answer to {question} [1]")


def test_follow_ups_replay_the_conversation_with_real_answers():
    fake = RecordingAssistant()
    _, history = ask_with_history(fake, q(history=["First?", "Second?"]))
    assert [c[0] for c in fake.calls] == ["First?", "Second?", "Where?"]
    assert fake.calls[0][1] is None
    assert fake.calls[2][1] == [
        {"role": "user", "content": "First?"}, {"role": "assistant", "content": "answer to First? [1]"},
        {"role": "user", "content": "Second?"}, {"role": "assistant", "content": "answer to Second? [1]"}]
    assert history == fake.calls[2][1]


# --- reports -----------------------------------------------------------------------------------

def test_compare_flags_regressions_beyond_tolerance_in_the_right_direction():
    old = {"metrics": {"answer_accuracy": 0.80, "mrr": 0.90, "false_abstention_rate": 0.10, "questions": 100}}
    new = {"metrics": {"answer_accuracy": 0.79, "mrr": 0.80, "false_abstention_rate": 0.20, "questions": 50}}
    flagged = {d.name for d in rp.compare(old, new, tolerance=0.02) if d.regression}
    assert flagged == {"mrr", "false_abstention_rate"}
    better = {"metrics": {"answer_accuracy": 0.95, "mrr": 0.99, "false_abstention_rate": 0.0}}
    assert not any(d.regression for d in rp.compare(old, better))


def test_floors_and_ceilings():
    floors = {"min": {"mrr": 0.9, "answer_accuracy": 0.5}, "max": {"false_abstention_rate": 0.2}}
    assert rp.check_floors({"mrr": 0.95, "answer_accuracy": 0.5, "false_abstention_rate": 0.1}, floors) == []
    problems = rp.check_floors({"mrr": 0.85, "answer_accuracy": None, "false_abstention_rate": 0.3}, floors)
    assert len(problems) == 3 and "mrr = 0.850 is below its floor 0.9" in problems


def test_load_report_rejects_other_files(tmp_path):
    (tmp_path / "x.json").write_text("[]")
    with pytest.raises(ConfigError, match="not an evaluation report"):
        rp.load_report(tmp_path / "x.json")


def test_beir_ids_and_qrels(tmp_path):
    (tmp_path / "corpus.jsonl").write_text('{"_id": "d1", "text": "a"}\n\n{"_id": "d2", "text": "b"}\n')
    assert doc_ids(tmp_path / "corpus.jsonl") == {"corpus.jsonl:1": "d1", "corpus.jsonl:3": "d2"}
    (tmp_path / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\t0\nq2\td2\t2\n")
    assert read_qrels(tmp_path / "test.tsv") == {"q1": {"d1": 1.0}, "q2": {"d2": 2.0}}


# --- end to end: `assistant eval` ---------------------------------------------------------------

@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """The eval's own index dir (under the temp dir) lands in this test's folder."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


SUBSET = ["q022", "q036", "q048", "q085", "q095"]  # facts, a date, a follow-up, an unanswerable


@pytest.mark.slow
def test_eval_command_writes_reports_and_compares(private_tmp, corpus_copy):
    subset = private_tmp / "subset.jsonl"
    lines = [l for l in QUESTIONS.read_text().splitlines() if json.loads(l)["id"] in SUBSET]
    subset.write_text("\n".join(lines) + "\n")
    out = private_tmp / "out"
    runner = CliRunner()
    args = ["--questions", str(subset), "--corpus", str(corpus_copy), "--no-progress"]
    result = runner.invoke(eval_command, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {"report.json", "report.md", "chart.png"}
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    report = json.loads((out / "report.json").read_text())
    assert report["metrics"]["questions"] == 5 and report["metrics"]["unanswerable"] == 1
    assert {"hit@k", "mrr", "ndcg@k", "answer_accuracy", "citation_precision", "abstention_recall"} <= set(report["metrics"])
    assert set(report["latency"]) >= {"embed", "retrieve", "generate", "total"}
    assert report["by_type"]["followup"]["questions"] == 1
    assert "# Evaluation report" in (out / "report.md").read_text()
    # Its own index dir, under the (patched) temp dir: never the default embeddings/.
    assert report["meta"]["index_dir"].startswith(str(private_tmp / "corpus-assistant-eval"))

    # An earlier run that was better: deltas are printed, the drop flagged, exit status 1.
    report["metrics"]["hit@k"] = report["metrics"]["hit@k"] + 0.5
    old = private_tmp / "old.json"
    old.write_text(json.dumps(report))
    again = runner.invoke(eval_command, [*args, "--out", str(private_tmp / "out2"), "--compare", str(old)])
    assert again.exit_code == 1, again.output
    assert "REGRESSION" in again.output and "hit@k" in again.output
    assert "-0.500" in again.output


@pytest.mark.slow
def test_eval_command_scores_a_beir_folder(private_tmp):
    beir = private_tmp / "beir"
    (beir / "qrels").mkdir(parents=True)
    docs = {"d1": "The Caspian Sea is the largest inland body of water on Earth.",
            "d2": "Espresso is brewed by forcing hot water through finely ground coffee.",
            "d3": "The Eiffel Tower in Paris was completed in 1889 for the World's Fair.",
            "d4": "Penguins are flightless birds that live mostly in the Southern Hemisphere."}
    (beir / "corpus.jsonl").write_text("".join(json.dumps({"_id": i, "title": "", "text": t}) + "\n"
                                               for i, t in docs.items()))
    queries = {"a": "Which tower in Paris was finished in 1889?", "b": "How is espresso made?",
               "c": "birds that cannot fly", "z": "a query with no judgement"}
    (beir / "queries.jsonl").write_text("".join(json.dumps({"_id": i, "text": t}) + "\n" for i, t in queries.items()))
    (beir / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\na\td3\t1\nb\td2\t1\nc\td4\t1\n")
    out = private_tmp / "out"
    result = CliRunner().invoke(eval_command, ["--beir", str(beir), "--k", "2", "--out", str(out), "--no-progress"])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["meta"]["mode"] == "beir" and report["metrics"]["queries"] == 3
    assert report["metrics"]["hit@k"] == 1.0 and report["metrics"]["mrr"] == 1.0
    assert set(report["metrics"]) == {"hit@k", "recall@k", "mrr", "ndcg@k", "queries"}
    assert (out / "chart.png").exists() and "nDCG@2" in (out / "report.md").read_text()


def test_eval_command_rejects_bad_inputs_before_loading_a_model(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text("{oops\n")
    result = CliRunner().invoke(eval_command, ["--questions", str(bad)])
    assert result.exit_code == 2 and "invalid JSON" in result.output
    result = CliRunner().invoke(eval_command, ["--beir", str(tmp_path)])
    assert result.exit_code == 2 and "corpus.jsonl" in result.output
