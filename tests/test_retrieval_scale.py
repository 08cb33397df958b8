"""Many articles competing: one long story does not fill every slot; its neighbouring chunks still widen."""

import pytest

import assistant.retrieve as R
from assistant import Assistant

_FILLER = ("The council published its minutes on Tuesday and residents were invited to comment "
           "on the plans at the library before the end of the month. ")


def _corpus(root):
    # One long article returns to the ferry timetable in many sections far apart; four short
    # ones each report a different town's ferry timetable; the rest are about other things.
    long = []
    for i in range(12):
        long.append(f"## Ferry timetable changes, part {i}\n\nThe ferry timetable changes again: "
                    f"the ferry timetable changes in part {i} bring later sailings. " + _FILLER * 4)
    (root / "harbour.md").write_text("# Harbour ferry timetable review\n\n" + "\n\n".join(long))
    for town in ("Oban", "Kirkwall", "Stornoway", "Lerwick"):
        (root / f"{town.lower()}.md").write_text(
            f"# {town} ferry timetable\n\nThe {town} ferry timetable changes next week with an extra "
            f"morning sailing, the operator said. " + _FILLER * 3)
    for topic in ("library hours", "school meals", "road repairs", "market stalls", "park benches",
                  "bin collections", "swimming pool", "street lights"):
        (root / f"{topic.replace(' ', '-')}.md").write_text(
            f"# New {topic}\n\nThe council agreed new {topic} for the town centre. " + _FILLER)


@pytest.fixture(scope="module")
def many(tmp_path_factory):
    root = tmp_path_factory.mktemp("many")
    (root / "corpus").mkdir()
    _corpus(root / "corpus")
    a = Assistant(corpus_dir=root / "corpus", index_dir=root / "index")
    a.index(progress=False)
    return a


def test_one_long_story_does_not_take_every_slot(many):
    sources = [p.source for p in many.retrieve("ferry timetable changes", k=4)]
    assert sources[0] in {"harbour.md", "oban.md", "kirkwall.md", "stornoway.md", "lerwick.md"}
    assert sources.count("harbour.md") <= 2
    assert len(set(sources) - {"harbour.md"}) >= 2


def test_without_the_article_steps_it_would(many, monkeypatch):
    # The behaviour above comes from the article-level steps, not from this corpus being easy.
    monkeypatch.setattr(R, "ARTICLE_REPEAT", 1.0)
    monkeypatch.setattr(R, "ARTICLE_WEIGHT", 0.0)
    sources = [p.source for p in many.retrieve("ferry timetable changes", k=4)]
    assert sources.count("harbour.md") >= 3


def test_a_small_collection_keeps_an_articles_other_passages(assistant):
    # Five articles and k=5: other stories would only push out the best article's other passages.
    sources = [p.source[:3] for p in assistant.retrieve("What did Hashemi discuss with Gitau?", k=5)]
    assert sources.count("004") >= 2


def test_the_duplicate_test_keeps_a_bounded_set_of_chunk_terms(monkeypatch):
    # A chat or HTTP server keeps one view per index version for as long as it runs.
    from assistant.records import Chunk
    from assistant.stores import View

    texts = ["Ferries sail at noon.", "Buses leave at dawn.", "Trains run late tonight."]
    chunk = lambda row: Chunk(f"c{row}", f"a{row}", "x.md", "T", None, None, None, texts[row], 0, 9)
    view = View(chunk, None, [], None, None)
    monkeypatch.setattr(R, "TERMS_KEPT", 2)
    got = [R._terms_of(view, row) for row in (0, 1, 2, 0)]
    assert len(view.terms) <= 2
    assert "ferri" in got[0] and got[0] == got[3] and "train" in got[2]
