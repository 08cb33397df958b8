"""The extractive answer embeds a bounded shortlist of sentences, however many passages it reads."""

import pytest

from assistant.generators import extractive

SEEDS = [("Where was WTDC-25 held?", "Baku"),
         ("Who is Oman's ambassador to Iran?", "Almuaini"),
         ("How many universities offer aerospace majors?", "13 universities")]


class Counting:
    """The real embedder, counting the texts it is asked to embed afresh."""

    def __init__(self, real):
        self.real, self.texts = real, []

    def __getattr__(self, name):
        return getattr(self.real, name)

    def embed_cached(self, texts):
        self.texts += texts
        return self.real.embed_cached(texts)


@pytest.mark.parametrize("question, expected", SEEDS)
def test_twenty_passages_cost_a_shortlist_and_keep_the_answer(assistant, question, expected):
    passages = assistant.retrieve(question, k=20)
    gen = assistant.generator("extractive")
    sentences = sum(len(p.sentences) for p in passages)
    assert sentences > 3 * extractive.SHORTLIST  # the old pass embedded every one of them
    counting = Counting(gen.embedder)
    gen.embedder = counting
    try:
        answer = gen.generate(question, passages)
    finally:
        gen.embedder = counting.real
    embedded = {t for t in counting.texts if len(t.split()) >= 4} - {question}  # not single words
    assert len(embedded) <= extractive.SHORTLIST
    assert not answer.abstained and expected in answer.text, answer.text
