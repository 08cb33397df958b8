"""PDF articles: text, title and date come out of real PDFs (made with fpdf2, read with pypdf)."""

import shutil
from datetime import datetime, timezone

import pytest

from assistant import Assistant
from assistant.errors import CorpusError
from assistant.ingest import read_corpus
from assistant.uploads import save_upload
from tests.conftest import CORPUS

fpdf = pytest.importorskip("fpdf")

STORY = [
    "Publish Date: 2025/03/04\n\nIran and Kazakhstan opened a joint data center in Astana on "
    "Monday, the ICT ministry said. The center will host cloud services for telecom operators "
    "of both countries.",
    "The ministers also agreed to lay a new fiber-optic cable across the Caspian Sea by 2027, "
    "according to a statement from the ministry.",
    "Officials said the data center would be expanded in a second phase next year.",
]


def write_pdf(path, pages, title=None, created=None, password=None, header=None):
    """A real PDF with one text page per item (hard-wrapped by fpdf2 as a printer would)."""
    pdf = fpdf.FPDF()
    if title:
        pdf.set_title(title)
    if created:
        pdf.set_creation_date(created)
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    for n, text in enumerate(pages, 1):
        pdf.add_page()
        pdf.set_font("Helvetica", size=12)
        if header:
            pdf.multi_cell(0, 8, header, new_x="LMARGIN", new_y="NEXT")
        if text:
            pdf.multi_cell(0, 8, text, new_x="LMARGIN", new_y="NEXT")
        else:
            pdf.rect(20, 20, 80, 60, style="F")  # a picture, no text: what a scan looks like
        if header:
            pdf.multi_cell(0, 8, f"Page {n} of {len(pages)}")
    pdf.output(str(path))
    return path


def test_text_title_and_printed_date_come_out_of_a_pdf(tmp_path):
    write_pdf(tmp_path / "astana.pdf", STORY, title="Iran and Kazakhstan open a data center",
              created=datetime(2026, 1, 9, tzinfo=timezone.utc), header="Tehran Times - ICT desk")
    (article,) = read_corpus(tmp_path).articles
    assert article.title == "Iran and Kazakhstan open a data center"
    assert article.date == "2025-03-04"  # the date printed in the story, not the file's creation
    assert "opened a joint data center in Astana on Monday" in article.text  # unwrapped lines
    assert "Caspian Sea by 2027" in article.text
    # Running headers and page numbers repeat on every page: they are not the story.
    assert "Tehran Times - ICT desk" not in article.text and "Page 2 of 3" not in article.text


def test_a_pdf_without_a_printed_date_takes_its_creation_date(tmp_path):
    write_pdf(tmp_path / "a.pdf", STORY[1:], created=datetime(2025, 5, 6, tzinfo=timezone.utc))
    (article,) = read_corpus(tmp_path).articles
    assert article.date == "2025-05-06"


@pytest.mark.parametrize("make, reason", [
    (lambda p: write_pdf(p, STORY, password="secret"), "password-protected"),
    (lambda p: write_pdf(p, ["", ""]), "no text, only images"),
    (lambda p: p.write_bytes(write_pdf(p, STORY).read_bytes()[:400]), "unreadable PDF"),
])
def test_pdfs_without_readable_text_are_named_with_what_to_do(tmp_path, make, reason):
    make(tmp_path / "bad.pdf")
    (tmp_path / "good.txt").write_text("Iran and Oman agreed to cooperate on fiber links.")
    corpus = read_corpus(tmp_path)
    assert [a.source for a in corpus.articles] == ["good.txt"]
    (problem,) = corpus.problems
    assert problem.source == "bad.pdf" and reason in problem.reason


@pytest.mark.slow
def test_a_pdf_article_is_answered_and_cited(tmp_path, assistant):
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    write_pdf(corpus / "astana.pdf", STORY, title="Iran and Kazakhstan open a data center")
    bot = Assistant(corpus_dir=corpus, index_dir=tmp_path / "index")
    bot.embedder = assistant.embedder  # the model is already loaded
    answer = bot.ask("Where did Iran and Kazakhstan open a joint data center?")
    assert "Astana" in answer.text and not answer.abstained
    cite = answer.citations[0]
    article = next(a for a in read_corpus(corpus).articles if a.source == "astana.pdf")
    assert cite.source == "astana.pdf" and article.text[cite.start:cite.end] == cite.quote


def test_a_pdf_upload_is_saved_and_a_fake_one_refused(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    made = write_pdf(tmp_path / "astana.pdf", STORY)
    saved = save_upload(made, "Astana report.PDF", corpus, max_mb=1)
    assert (saved.name, saved.articles) == ("Astana_report.pdf", 1)
    assert (corpus / "Astana_report.pdf").read_bytes() == made.read_bytes()
    fake = tmp_path / "fake.pdf"
    fake.write_bytes(b"just text pretending")
    with pytest.raises(CorpusError, match="not a PDF"):
        save_upload(fake, "fake.pdf", corpus, max_mb=1)
    assert sorted(p.name for p in corpus.iterdir()) == ["Astana_report.pdf"]


def test_pdf_text_is_extracted_once_per_file_content(tmp_path, monkeypatch):
    import assistant.pdf as pdf

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_pdf(corpus / "astana.pdf", STORY)
    first = read_corpus(corpus).articles
    assert len(list((tmp_path / "cache" / "corpus-assistant" / "pdf").glob("*.json"))) == 1

    def no_pypdf(data):
        raise AssertionError("pypdf ran again for a PDF it had already read")

    with monkeypatch.context() as m:
        m.setattr(pdf, "extract", no_pypdf)
        assert read_corpus(corpus).articles == first  # every sync reads the corpus; PDFs cost nothing
    write_pdf(corpus / "astana.pdf", STORY[:1])  # new bytes: read afresh
    assert "Caspian" not in read_corpus(corpus).articles[0].text
    # A cache that cannot be written only costs time.
    monkeypatch.setenv("XDG_CACHE_HOME", str(corpus / "astana.pdf"))
    assert read_corpus(corpus).articles[0].text.startswith("Iran and Kazakhstan")
