"""The chat in a real browser: Debian's chromium driven by playwright against `python app.py`."""

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlparse

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

from tests.servers import AppServer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
DONE = "#ca-chat .ca-answer:not(.ca-streaming), #ca-chat .ca-error, #ca-chat .ca-notice"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="chromium is missing; `make browser` installs it (make test does)"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python app.py` on a free loopback port, over its own corpus copy (uploads land there)."""
    with AppServer(tmp_path_factory.mktemp("ui")) as app:
        yield {"url": app.url, "corpus": app.corpus, "log": app.log_path, "dir": app.base}


@pytest.fixture(scope="module")
def page(server):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(viewport={"width": 1440, "height": 900},
                                      permissions=["clipboard-read", "clipboard-write"])
        pg = context.new_page()
        pg.set_default_timeout(30_000)
        pg.dialogs, pg.outside, pg.errors = [], [], []
        pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))
        pg.on("request", lambda r: pg.outside.append(r.url) if urlparse(r.url).hostname not in
              (None, "127.0.0.1", "localhost") else None)
        pg.goto(server["url"])
        pg.wait_for_selector("#ca-question textarea")
        yield pg
        browser.close()


class _FakeChat(BaseHTTPRequestHandler):
    """An OpenAI-compatible /v1/chat/completions that streams one cited answer."""

    reply = "WTDC-25 was held in Baku, Azerbaijan. [1]"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for word in self.reply.split(" "):
            chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0,
                     "model": body["model"], "choices": [
                         {"index": 0, "delta": {"content": word + " "}, "finish_reason": None}]}
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
        self.wfile.write(b"data: [DONE]\n\n")


@pytest.fixture(scope="module")
def fake_llm():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeChat)
    server.requests = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def _shot(page, name):
    last = page.locator("#ca-chat .message-row").last
    if last.count():
        last.scroll_into_view_if_needed()  # the chat stops following once a reader scrolls up
    page.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"))


def _ask(page, question, answered=True):
    """Type a question, press Enter, and return the finished answer's bubble."""
    before = page.locator(DONE).count()
    box = page.locator("#ca-question textarea")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(f"document.querySelectorAll({DONE!r}).length > {before}")
    if answered:
        expect(page.locator("#ca-panel .ca-sources-head")).to_contain_text(question)
    return page.locator(DONE).last


def _choose(page, dropdown, text):
    field = page.locator(f"{dropdown} input")
    field.click()
    field.fill(text)
    field.press("Enter")
    page.locator("h2").first.click()  # close the option list


def _upload(page, path):
    """Upload one file through the sidebar; return the notices and problems it produced."""
    before = page.locator(DONE).count()
    page.locator("#ca-upload input[type=file]").set_input_files(str(path))
    page.wait_for_function(f"document.querySelectorAll({DONE!r}).length > {before}")
    return page.locator(DONE).all()[before:]


def test_seed_question_streams_in_with_its_citation(page):
    # Record every partial text the chat shows, to see the answer arrive in pieces.
    page.evaluate("""() => { window.caPartials = new Set();
      new MutationObserver(() => document.querySelectorAll('#ca-chat .ca-streaming')
        .forEach(e => window.caPartials.add(e.textContent)))
      .observe(document.body, {subtree: true, childList: true, characterData: true}); }""")
    answer = _ask(page, "Where was WTDC-25 held?")
    expect(answer).to_contain_text("Baku")
    expect(answer.locator(".ca-fn a")).to_have_text(["[1]"])
    expect(answer.locator(".ca-meta")).to_contain_text("extractive")  # per-answer timings
    assert len(page.evaluate("() => [...window.caPartials]")) >= 3
    page.locator("#ca-chat button[aria-label='Copy message']").last.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "Baku" in copied and copied.endswith("[1]") and "<" not in copied  # text, not HTML
    label = page.locator("#ca-chat [data-testid=bot]").last.get_attribute("aria-label")
    assert "Baku" in label and "<div" not in label  # what a screen reader announces
    card = page.locator("#ca-panel .ca-source").first
    expect(card).to_contain_text("004_e48939797a376529.txt")
    expect(card).to_contain_text("2025-11-22")
    _shot(page, "1-answer")


def test_footnote_opens_the_source_with_the_quote_highlighted(page):
    link = page.locator(DONE).last.locator(".ca-fn a").first
    target = link.get_attribute("href").lstrip("#")
    page.evaluate(f"document.getElementById({target!r}).open = false")  # start collapsed
    link.click()
    card = page.locator(f"#{target}")
    expect(card).to_have_attribute("open", "")
    expect(card.locator("mark")).to_be_in_viewport()
    expect(card.locator("mark")).to_contain_text("in Baku, Azerbaijan")
    expect(page.locator("#ca-panel .ca-uncited")).not_to_have_attribute("open", "")
    _shot(page, "2-source-highlighted")


def test_date_filter_takes_effect(page):
    until = page.locator("#ca-until input").first
    until.fill("2025-02-01")
    until.press("Enter")
    answer = _ask(page, "Where was WTDC-25 held?")  # that article is dated 2025-11-22
    expect(answer).to_contain_text("The corpus does not say")
    expect(answer.locator(".ca-label")).to_have_text("Not in the corpus")
    _shot(page, "3-date-filter-abstains")
    until.fill("")
    until.press("Enter")


def test_source_filter_takes_effect(page):
    _choose(page, "#ca-sources-filter", "001_74af")
    expect(page.locator("#ca-sources-filter")).to_contain_text("001_74af4bd25be794b0.txt")
    _ask(page, "Who is the Saudi ambassador to Iran?")
    files = page.locator("#ca-panel .ca-source .ca-meta code").all_inner_texts()
    assert files and set(files) == {"001_74af4bd25be794b0.txt"}
    _shot(page, "4-source-filter")
    page.locator("#ca-sources-filter .token-remove").first.click()
    expect(page.locator("#ca-sources-filter .token")).to_have_count(0)


def test_clicking_an_earlier_answer_brings_back_its_sources(page):
    page.locator("#ca-chat .ca-answer").first.click()
    expect(page.locator("#ca-panel .ca-sources-head")).to_contain_text("Where was WTDC-25 held?")
    expect(page.locator("#ca-panel mark").first).to_contain_text("Baku")


def test_example_question_runs_on_click(page):
    before = page.locator(DONE).count()
    page.get_by_role("button", name="Why did Saudi Arabia cut diplomatic ties with Iran in 2016?")\
        .click()
    page.wait_for_function(f"document.querySelectorAll({DONE!r}).length > {before}")
    expect(page.locator(DONE).last).to_contain_text("attacks on Saudi diplomatic missions")


def test_uploaded_article_is_answerable_at_once(page, server, tmp_path):
    article = tmp_path / "zorblat festival.txt"
    article.write_text("Zorblat Festival Opens in Isfahan\n\nThe first Zorblat Festival of "
                       "quantum gardening opened in Isfahan on Sunday, organisers said. The "
                       "mascot of the Zorblat Festival is a purple snail named Glimmer.\n",
                       encoding="utf-8")
    notes = _upload(page, article)
    expect(notes[0]).to_contain_text(
        "Added zorblat_festival.txt (uploaded as zorblat festival.txt): 1 article.")
    assert (server["corpus"] / "zorblat_festival.txt").exists()
    expect(page.locator("#ca-status")).to_contain_text("6 articles")
    answer = _ask(page, "What is the mascot of the Zorblat Festival?")
    expect(answer).to_contain_text("Glimmer")
    expect(page.locator("#ca-panel .ca-source").first).to_contain_text("zorblat_festival.txt")
    _shot(page, "5-upload-answered")


def test_article_with_script_renders_as_text(page, tmp_path):
    article = tmp_path / "hostile.txt"
    article.write_text("Quokka Parade <script>alert(1)</script>\n\nThe quokka parade in "
                       "Yazd drew <b>ten thousand</b> visitors <img src=x onerror=alert(2)> "
                       "and <script>alert(3)</script> a brass band.\n", encoding="utf-8")
    _upload(page, article)
    answer = _ask(page, "How many visitors did the quokka parade in Yazd draw?")
    expect(answer).to_contain_text("<b>ten thousand</b>")
    panel = page.locator("#ca-panel")
    expect(panel).to_contain_text("Quokka Parade <script>alert(1)</script>")
    expect(panel).to_contain_text("<img src=x onerror=alert(2)>")
    injected = "#ca-chat script, #ca-panel script, #ca-chat img, #ca-panel img, #ca-chat b"
    assert page.locator(injected).count() == 0
    page.wait_for_timeout(500)
    assert page.dialogs == []
    _shot(page, "6-script-as-text")


def test_bad_uploads_are_explained_in_the_chat(page, server, tmp_path):
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("Caf\u00e9 news from Tabriz.".encode("latin-1"))
    expect(_upload(page, latin)[-1]).to_contain_text("not valid UTF-8")
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(b"%PDF-1.7 binary")
    expect(_upload(page, pdf)[-1]).to_contain_text("unreadable PDF")
    slides = tmp_path / "slides.pptx"
    slides.write_bytes(b"PK\x03\x04")
    expect(_upload(page, slides)[-1]).to_contain_text("'.pptx' files are not supported")
    assert not (server["corpus"] / "latin1.txt").exists()
    assert not (server["corpus"] / "report.pdf").exists()
    _shot(page, "7-bad-upload")


def test_openai_generator_uses_the_url_and_model_typed_in(page, fake_llm):
    url, model = page.locator("#ca-openai-url textarea"), page.locator("#ca-openai-model textarea")
    expect(url).to_be_hidden()  # only the openai generator needs them
    _choose(page, "#ca-generator", "openai")
    expect(url).to_be_visible()
    url.fill(f"http://127.0.0.1:{fake_llm.server_port}/v1")
    model.fill("tiny-test-model")
    answer = _ask(page, "Where was WTDC-25 held?")
    expect(answer).to_contain_text("WTDC-25 was held in Baku, Azerbaijan.")
    expect(answer.locator(".ca-fn a")).to_have_text(["[1]"])
    expect(answer.locator(".ca-meta")).to_contain_text("openai")
    assert fake_llm.requests[-1]["model"] == "tiny-test-model" and fake_llm.requests[-1]["stream"]
    expect(page.locator("#ca-panel .ca-source mark").first).to_contain_text("Baku")
    _shot(page, "8-openai-generator")
    url.fill("http://127.0.0.1:9/v1")  # nothing listens there
    problem = _ask(page, "Where was WTDC-25 held?", answered=False)
    expect(problem).to_have_class("ca-error")
    expect(problem).to_contain_text("http://127.0.0.1:9/v1")
    _shot(page, "9-unreachable-llm")
    _choose(page, "#ca-generator", "extractive")
    expect(url).to_be_hidden()


def test_page_stayed_offline_and_error_free(page):
    assert page.outside == []  # no fonts, analytics or CDN: the UI works without a network
    assert page.errors == []
    assert page.dialogs == []
