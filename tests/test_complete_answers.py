"""Complete answers: one cited sentence per person or part, follow-ups that pick one out."""

import pytest

from assistant.generators.parts import parts, several
from assistant.records import Passage
from assistant.sentences import split_sentences

W = "004_e48939797a376529.txt"
MET = "Who did Hashemi meet at WTDC-25, and what did they discuss?"


@pytest.fixture(scope="module")
def met(assistant):
    return assistant.ask(MET)


def test_a_question_about_several_people_names_each_with_a_citation(met):
    assert not met.abstained
    for person in ("Zerrouki", "Gitau", "Bogdan-Martin"):
        quotes = [c for c in met.citations if person in c.quote]
        assert quotes and all(c.source == W for c in quotes), (person, met.text)
    # One sentence each, in the order the article tells them, not a dump of the article.
    order = [met.text.index(p) for p in ("Zerrouki", "Gitau", "Doreen Bogdan-Martin")]
    assert order == sorted(order) and len(met.citations) <= 6


@pytest.mark.parametrize("question, person, said", [
    ("What did the Kenyan one call for?", "Gitau", "cybersecurity"),
    ("What did the Algerian one call for?", "Zerrouki", "undersea cables"),
])
def test_a_follow_up_picks_one_of_them_out(assistant, met, question, person, said):
    history = [{"role": "user", "content": MET}, {"role": "assistant", "content": met.text}]
    answer = assistant.ask(question, history=history)
    assert person in answer.query and not answer.abstained, answer.notes
    assert said in answer.text and answer.citations[0].source == W


def test_single_questions_stay_single():
    assert parts(MET) == ["Who did Hashemi meet at WTDC-25?", "what did they discuss?"]
    assert several("Which countries signed the agreement?")
    assert not several("Where was WTDC-25 held?") and parts("Where was WTDC-25 held?") == [
        "Where was WTDC-25 held?"]


def test_a_sentence_that_asks_is_never_the_answer(assistant):
    text = ("Which wildly popular show was recently green lit for a new season? "
            "The streaming service said Squid Game was green lit for a second season on Sunday.")
    passage = Passage("c1", "a1", "quiz.txt", "News quiz", None, None, None, text, 0, len(text),
                      2 / 61, sentences=split_sentences(text))
    answer = assistant.generator("extractive").generate("Which show was green lit for a new season?",
                                                        [passage])
    assert "?" not in answer.text
    assert answer.abstained or "Squid Game" in answer.text


def test_a_capitalized_word_the_corpus_lacks_does_not_force_a_refusal(assistant):
    # "Gulf" is in no indexed article, but it paraphrases where Oman is, not a name to find.
    answer = assistant.ask("Which Gulf state's ambassador did Hashemi meet in Tehran?")
    assert not answer.abstained, answer.notes
    assert "Almuaini" in answer.text or "Oman" in answer.text


def test_a_demonym_is_known_when_a_passage_names_its_country(assistant):
    # The article says "the sanctions imposed by the United States"; "American" shares no stem.
    answer = assistant.ask("Which advances despite American sanctions did the Omani ambassador highlight?")
    assert not answer.abstained, answer.notes
    assert "United States" in answer.text
    # The sentence that answers names the United States, not "American": it must not rank as
    # if it missed one of the question's names (it was refused, probability 0.12).
    spite = assistant.ask("What did the Omani envoy say Iran had achieved in IT in spite of "
                          "American restrictions?")
    assert "considerable advancements" in spite.text, spite.notes
    # No indexed article names the United Kingdom: "British" still has nothing to match.
    british = assistant.ask("What did the British ambassador say about Iran?")
    assert british.abstained and '"British"' in british.text


def test_a_sentence_referring_back_to_the_names_of_its_story_can_answer(assistant):
    # "A memorandum of understanding will be provided to follow up on the agreements." names none
    # of the five names asked; its story names them all.
    answer = assistant.ask("How are Iran and Saudi Arabia going to follow up on what Sadr and "
                           "Altamimi agreed?")
    assert "memorandum of understanding" in answer.text, answer.text


def _story(text: str, source: str = "holiday.txt") -> Passage:
    return Passage("c1", "a1", source, "Holiday", None, None, None, text, 0, len(text), 2 / 61,
                   sentences=split_sentences(text))


@pytest.mark.parametrize("question, text", [
    # The outlet's own country goes unsaid: "the US" names where, not whose story it is.
    ("Which holiday is considered the unofficial end of summer in the US?",
     "Many associate Labor Day with sales, barbecues and the unofficial end of summer."),
    # A story spells the agency out.
    ("Which virus outbreak did the CDC respond to this week?",
     "The Centers for Disease Control and Prevention set up a response to the monkeypox outbreak."),
])
def test_a_name_the_story_implies_or_spells_out_is_found(assistant, question, text):
    gen = assistant.generator("extractive")
    assert gen.assess(question, [_story(text)]).features["names_found"] == 1.0


def test_a_story_without_the_question_s_name_is_refused(assistant):
    # A source filter that leaves only another story: the answer would be about someone else.
    text = "Kenya's Cabinet Secretary William Kabogo Gitau called for joint economic projects."
    answer = assistant.generator("extractive").generate("Who is Oman's ambassador to Iran?",
                                                        [_story(text, "kenya.txt")])
    assert answer.abstained


def test_he_or_she_is_the_person_the_last_question_described(assistant):
    # The last answer names an Algerian minister first and the Kenyan official second.
    asked = "Who is the Kenyan official Hashemi met at WTDC-25?"
    first = assistant.ask(asked)
    assert first.text.index("Zerrouki") < first.text.index("Gitau"), first.text
    history = [{"role": "user", "content": asked}, {"role": "assistant", "content": first.text}]
    answer = assistant.ask("What is his official title?", history=history)
    assert answer.query.split("(context: ")[1].startswith("William Kabogo Gitau"), answer.query
    assert "Cabinet Secretary" in answer.text and not answer.abstained


def test_one_question_about_two_places_is_asked_of_each():
    q = "At which gatherings, in Riyadh and in Baku, did officials meet?"
    assert parts(q) == ["At which gatherings, in Riyadh, did officials meet?",
                        "At which gatherings, in Baku, did officials meet?"]
    assert several(q) and parts("Who met in Riyadh?") == ["Who met in Riyadh?"]


def test_a_paired_question_is_answered_from_both_stories(assistant):
    # Each sentence answers one half, so the whole question scored below the refusal threshold.
    answer = assistant.ask("At which international gatherings, in Riyadh and in Baku, did "
                           "Iranian ICT officials hold meetings on the sidelines?")
    assert not answer.abstained, answer.notes
    assert "Internet Governance Forum" in answer.text and "WTDC" in answer.text, answer.text
    assert len(answer.citations) <= 4
