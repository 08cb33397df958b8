"""Citation verification on hand-made answers over real passages and the real embedder."""

import re
import time

import pytest

from assistant import Answer
from assistant.citations import markers
from assistant.generators.llm import parse_answer
from assistant.verify import Repairs, split_claims, verify_answer

SEED = "Where was WTDC-25 held?"


def assert_streams_verified(assistant, generator: str):
    """ask_stream(SEED) yields text deltas, then a verified Answer from `generator`; with timings.

    Returns (seconds to the first delta, the deltas, the Answer, seconds in all).
    """
    t0 = time.perf_counter()
    first, items = None, []
    for item in assistant.ask_stream(SEED):
        first = first if first is not None else time.perf_counter() - t0
        items.append(item)
    *deltas, answer = items
    total = time.perf_counter() - t0
    assert len(deltas) > 1 and all(isinstance(d, str) and d for d in deltas)
    assert isinstance(answer, Answer)
    assert_answered_by(answer, generator)
    assert_verified(answer, assistant)
    return first, deltas, answer, total


def assert_answered_by(answer, generator: str):
    """The model wrote and was verified; the user got its answer or, with a note, the extractive one."""
    assert any(n.startswith("llm: ") for n in answer.notes), answer.notes
    assert any(n.startswith("verify: ") for n in answer.notes), answer.notes
    if answer.generator != generator:
        assert answer.generator == "extractive", answer.generator
        assert any(f"the {generator} answer was set aside" in n for n in answer.notes), answer.notes


def assert_verified(answer, assistant):
    """What every verified answer guarantees: checked markers, verbatim quotes, honest notes."""
    assert any(n.startswith("verify: ") for n in answer.notes), answer.notes
    if answer.abstained:
        assert answer.text.startswith("The corpus does not say") and not answer.citations
        return
    assert answer.citations, answer.text
    by_marker = {c.marker for c in answer.citations}
    used = markers(answer.text)
    assert set(used) == by_marker
    assert list(dict.fromkeys(used)) == list(range(1, len(by_marker) + 1))  # numbered by first use
    for c in answer.citations:
        p = answer.passages[c.passage]
        assert c.quote == p.text[c.start - p.start:c.end - p.start]
        # One sentence of the passage, or two adjacent ones.
        starts, ends = [a for a, _ in p.sentences], [b for _, b in p.sentences]
        assert c.start in starts and c.end in ends and 0 <= ends.index(c.end) - starts.index(
            c.start) <= 1 and c.quote.strip()
        assert (c.source, c.title, c.date, c.url) == (p.source, p.title, p.date, p.url)
        assert 0 < c.score <= 1
    for claim, cited in split_claims(answer.text):
        assert cited or claim.endswith("(unsupported)"), claim
    if "(unsupported)" in answer.text:
        return
    # Verifying again changes nothing: every remaining marker is supported by its passage.
    again = verify_answer(answer, answer.passages, assistant.embedder, assistant.settings)
    assert again.text == answer.text
    assert re.search(r"repointed=0 added=0 removed=0 dropped=0", again.notes[-1]), again.notes[-1]


@pytest.fixture(scope="module")
def seed(assistant):
    passages = assistant.retrieve(SEED)
    baku = next(i for i, p in enumerate(passages) if "Baku" in p.text)
    other = next(i for i, p in enumerate(passages) if "Baku" not in p.text and "WTDC" not in p.text)
    return passages, baku + 1, other + 1  # prompt numbers: marker n cites passages[n - 1]


def check(assistant, passages, text, **overrides):
    settings = assistant.settings.replace(**overrides) if overrides else assistant.settings
    answer = parse_answer(text, SEED, passages, "llamacpp", ["llm: test"])
    return verify_answer(answer, passages, assistant.embedder, settings)


def repairs(answer) -> dict:
    note = next(n for n in answer.notes if n.startswith("verify: "))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", note)}


def test_a_right_marker_is_kept_with_the_supporting_sentence_as_quote(assistant, seed):
    passages, baku, _ = seed
    answer = check(assistant, passages, f"WTDC-25 was held in Baku, Azerbaijan [{baku}].")
    assert answer.text == "WTDC-25 was held in Baku, Azerbaijan. [1]"
    assert repairs(answer)["kept"] == 1 and len(answer.citations) == 1
    c = answer.citations[0]
    assert c.passage == baku - 1 and "Baku" in c.quote and c.score >= 0.5
    assert answer.notes[0] == "llm: test"
    assert_verified(answer, assistant)


def test_a_wrong_marker_is_repointed_to_the_passage_that_supports_the_sentence(assistant, seed):
    passages, baku, other = seed
    answer = check(assistant, passages, f"WTDC-25 was held in Baku, Azerbaijan. [{other}]")
    assert repairs(answer)["repointed"] == 1
    assert [c.passage for c in answer.citations] == [baku - 1]
    assert_verified(answer, assistant)


def test_out_of_range_extra_and_missing_markers(assistant, seed):
    passages, baku, other = seed
    assert repairs(check(assistant, passages, "WTDC-25 was held in Baku, Azerbaijan [42]."))[
        "repointed"] == 1
    extra = check(assistant, passages, f"WTDC-25 was held in Baku, Azerbaijan [{baku}][{other}].")
    assert repairs(extra)["removed"] == 1 and markers(extra.text) == [1]
    uncited = check(assistant, passages, "WTDC-25 was held in Baku, Azerbaijan.")
    assert repairs(uncited)["added"] == 1 and markers(uncited.text) == [1]
    for answer in (extra, uncited):
        assert_verified(answer, assistant)


def test_an_unsupported_sentence_is_dropped_and_the_rest_kept(assistant, seed):
    passages, baku, _ = seed
    text = (f"WTDC-25 was held in Baku, Azerbaijan [{baku}]. "
            f"WTDC-25 was held in Paris, France in 2023 [{baku}]. "
            "The conference is a major centre for world trade and shipping.")
    answer = check(assistant, passages, text)
    assert repairs(answer) == {**repairs(answer), "kept": 1, "dropped": 2}
    assert "Paris" not in answer.text and "trade" not in answer.text
    assert_verified(answer, assistant)


def test_flag_mode_keeps_an_unsupported_sentence_visibly_marked(assistant, seed):
    passages, baku, _ = seed
    text = f"WTDC-25 was held in Baku, Azerbaijan [{baku}]. It was held in Paris, France [{baku}]."
    answer = check(assistant, passages, text, verify_unsupported="flag")
    assert answer.text.endswith("It was held in Paris, France. (unsupported)")
    assert repairs(answer)["flagged"] == 1
    assert_verified(answer, assistant)


def test_nothing_supported_abstains_with_the_repair_counts(assistant, seed):
    passages, baku, other = seed
    answer = check(assistant, passages, f"WTDC-25 was held in Paris [{baku}]. "
                                        f"Hashemi is a famous football player [{other}].")
    assert answer.abstained and not answer.citations and answer.generator == "llamacpp"
    assert repairs(answer)["dropped"] == 2
    assert any("no sentence of the generated answer is supported" in n for n in answer.notes)
    assert_verified(answer, assistant)


def test_a_refusal_abstains_even_when_it_shares_words_with_a_passage(assistant, seed):
    passages, baku, _ = seed
    answer = check(assistant, passages, f"The passages do not say where WTDC-25 was held [{baku}].")
    assert answer.abstained and repairs(answer)["refusals"] == 1
    assert any("said the passages do not answer" in n for n in answer.notes)


def test_repeated_sentences_and_empty_answers(assistant, seed):
    passages, baku, _ = seed
    line = f"WTDC-25 was held in Baku, Azerbaijan [{baku}]. "
    answer = check(assistant, passages, line * 3)
    assert answer.text == "WTDC-25 was held in Baku, Azerbaijan. [1]"
    assert check(assistant, passages, "").abstained


def test_an_extractive_answer_passes_unchanged(assistant):
    answer = assistant.ask(SEED, generator="extractive")
    assert not answer.abstained
    checked = verify_answer(answer, answer.passages, assistant.embedder, assistant.settings)
    assert repairs(checked)["dropped"] == repairs(checked)["repointed"] == 0
    assert markers(checked.text) == markers(answer.text)
    assert_verified(checked, assistant)


def test_split_claims_attaches_each_marker_to_the_sentence_before_it():
    claims = split_claims("Baku hosted it. [1] It ran in November [2]. Then more [1][3].")
    assert claims == [("Baku hosted it.", [1]), ("It ran in November.", [2]),
                      ("Then more.", [1, 3])]
    assert split_claims("[2] Starts with a marker.") == [("Starts with a marker.", [2])]
    assert split_claims("No space.[3] Next one.") == [("No space.", [3]), ("Next one.", [])]


def test_repairs_note_format_is_what_the_evaluation_parses():
    from assistant.evaluation.metrics import verify_repairs

    note = Repairs(kept=2, repointed=1, dropped=3).note()
    assert note.startswith("verify: ") and verify_repairs([note])["repointed"] == 1
