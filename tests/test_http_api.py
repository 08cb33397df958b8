"""The HTTP API at /v1 on the chat's own server: REST, SSE, OpenAI-compatible, auth, limits."""

import asyncio
import base64
import json
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytest.importorskip("gradio")
httpx = pytest.importorskip("httpx")
openai = pytest.importorskip("openai")

from assistant.errors import GeneratorError  # noqa: E402
from assistant.http import create_api  # noqa: E402
from assistant.http.common import ApiError, Gate  # noqa: E402
from tests.servers import AppServer  # noqa: E402

QUESTION = "Where was WTDC-25 held?"
HISTORY = [{"role": "user", "content": QUESTION},
           {"role": "assistant", "content": "In Baku. [1]"}]
# Fields that differ between two runs, or two indexes of the same corpus, by nature.
VOLATILE = {"timings", "index_version"}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
AUTH = {"ASSISTANT_AUTH_USER": "reader", "ASSISTANT_AUTH_PASSWORD": "s3cret word",
        "ASSISTANT_API_TOKEN": "tok-123"}
pytestmark = [pytest.mark.slow,
              pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


def _stable(answer: dict) -> dict:
    return {k: v for k, v in answer.items() if k not in VOLATILE}


def _want(assistant, question=QUESTION, **kwargs) -> dict:
    """What `assistant ask --json` prints for this question, as parsed JSON."""
    return _stable(json.loads(json.dumps(assistant.ask(question, **kwargs).to_dict())))


def _events(response) -> list[tuple[str, dict]]:
    """Server-Sent Events parsed one by one: (event name, JSON data)."""
    out, event, data = [], "message", []
    for line in response.iter_lines():
        if line == "":
            if data:
                out.append((event, json.loads("\n".join(data))))
            event, data = "message", []
        elif line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """`python app.py` on loopback; two answers at once and four waiting, as the chat."""
    with AppServer(tmp_path_factory.mktemp("http"), "--concurrency", "2",
                   "--queue-size", "4") as app:
        yield app
        assert "Traceback" not in app.log()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url + "v1", timeout=120) as client:
        yield client


# --- REST ---------------------------------------------------------------------------------

def test_ask_is_the_cli_json_and_the_chat_api_json(http, server, assistant):
    got = http.post("/ask", json={"question": QUESTION})
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    body = got.json()
    assert "Baku" in body["text"] and body["citations"][0]["source"] == "004_e48939797a376529.txt"
    assert _stable(body) == _want(assistant)
    assert set(body["timings"]) == {"prepare", "embed", "retrieve", "generate", "total"}
    assert _stable(server.client().predict(question=QUESTION, api_name="/ask")) == _stable(body)


def test_ask_takes_history_k_and_filters(http, assistant):
    only_000 = http.post("/ask", json={"question": QUESTION,
                                       "filters": {"sources": ["000_2a89f7724b3994e4.txt"]}})
    assert only_000.json()["abstained"]
    before = http.post("/ask", json={"question": QUESTION, "k": 2,
                                     "filters": {"until": "2025-02-01"}}).json()
    assert before["abstained"] and len(before["passages"]) <= 2
    dated = http.post("/ask", json={"question": QUESTION, "as_of": "2025-11-20"}).json()
    assert _stable(dated) == _want(assistant, QUESTION, as_of="2025-11-20")
    assert any(n.startswith("Searched articles published up to 2025-11-20") for n in dated["notes"])
    assert all((p["date"] or "") <= "2025-11-20" for p in dated["passages"])
    follow = http.post("/ask", json={"question": "Who did he meet there?", "history": HISTORY})
    assert follow.json()["query"] != "Who did he meet there?"
    assert _stable(follow.json()) == _want(assistant, "Who did he meet there?", history=HISTORY)


@pytest.mark.parametrize("method, path, body, status, message", [
    ("post", "/ask", {"question": "   "}, 400, "The question is empty"),
    ("post", "/ask", {"question": QUESTION, "filters": {"since": "2025-13-01"}}, 400,
     "Invalid date '2025-13-01'"),
    ("post", "/ask", {"question": QUESTION, "generator": "nope"}, 400, "Unknown generator 'nope'"),
    ("post", "/ask", {"question": QUESTION, "k": 500}, 400, "k=500 is not a number of passages"),
    ("post", "/ask", {"history": []}, 400, "question: Field required"),
    ("post", "/ask/stream", {"question": ""}, 400, "The question is empty"),
    ("get", "/nothing-here", None, 404, "No such endpoint: GET /v1/nothing-here"),
    ("get", "/ask", None, 405, "GET is not allowed on /v1/ask; use POST"),
])
def test_errors_are_json_with_the_right_status(http, method, path, body, status, message):
    r = http.request(method.upper(), path, json=body)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert message in error["message"] and error["type"]
    assert "Traceback" not in r.text


def test_ask_stream_sends_deltas_then_the_answer(http, assistant):
    with http.stream("POST", "/ask/stream", json={"question": QUESTION}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = _events(r)
    names = [name for name, _ in events]
    assert names[-1] == "answer" and set(names[:-1]) == {"delta"} and len(names) > 3
    answer = events[-1][1]
    assert "".join(data["text"] for _, data in events[:-1]) == answer["text"]
    assert _stable(answer) == _want(assistant)


def test_health_index_and_articles(http, server):
    health = http.get("/health").json()
    listed = http.get("/articles").json()
    assert health["ready"] and "extractive" in health["generators"]
    assert health["articles"] == listed["count"] == len(listed["articles"]) >= 5
    assert health["chunks"] == sum(a["chunks"] for a in listed["articles"])
    assert health["index_version"] == listed["index_version"]
    assert {a["source"] for a in listed["articles"]} >= {p.name for p in server.corpus.iterdir()}
    synced = http.post("/index")  # loopback without auth: allowed
    assert synced.status_code == 200 and synced.json()["embedded"] == 0
    assert synced.json()["articles"] == health["articles"]


def test_upload_adds_an_article_that_is_answered_at_once(http, server):
    text = ("Quixville hosts the Zorblat lantern festival.\n\nThe Zorblat lantern festival "
            "opened in Quixville on 3 March 2025, the mayor Ilsa Brandt said.\n")
    before = http.get("/articles").json()["count"]
    r = http.post("/articles", files=[("files", ("zorblat.txt", text.encode(), "text/plain"))])
    assert r.status_code == 200, r.text
    (saved,) = r.json()["files"]
    assert saved["name"] == "zorblat.txt" and saved["articles"] == 1
    assert r.json()["index"]["added"] == 1 and (server.corpus / "zorblat.txt").is_file()
    assert http.get("/articles").json()["count"] == before + 1
    answer = http.post("/ask", json={"question": "Where did the Zorblat festival open?"}).json()
    assert "Quixville" in answer["text"] and answer["citations"][0]["source"] == "zorblat.txt"
    again = http.post("/articles", files=[("files", ("zorblat.txt", text.encode()))])
    assert again.json()["files"][0]["duplicate"] and again.json()["index"] is None


@pytest.mark.parametrize("name, data, status, message", [
    ("tool.exe", b"MZ\x90\x00", 400, "'.exe' files are not supported"),
    ("empty.txt", b"  \n", 400, "the file is empty"),
    ("big.txt", b"word " * (1_100_000), 413, "over the 5 MB upload limit"),
])
def test_refused_uploads(http, server, name, data, status, message):
    r = http.post("/articles", files=[("files", (name, data))])
    assert r.status_code == status and message in r.json()["error"]["message"]
    assert not (server.corpus / name).exists()


def test_index_is_refused_beyond_loopback_without_credentials(assistant):
    from fastapi.testclient import TestClient

    open_api = TestClient(create_api(assistant, host="0.0.0.0"))
    r = open_api.post("/index")
    assert r.status_code == 403 and "ASSISTANT_AUTH_USER" in r.json()["error"]["message"]
    guarded = TestClient(create_api(assistant, host="0.0.0.0", token="t"))
    assert guarded.post("/index", headers={"Authorization": "Bearer t"}).status_code == 200


def test_a_body_over_the_cap_is_refused_before_it_is_read(assistant, tmp_path):
    from fastapi.testclient import TestClient

    from assistant import Assistant

    small = Assistant(assistant.settings.replace(max_file_mb=0.1, corpus_dir=tmp_path))
    api = TestClient(create_api(small))  # the cap: two PDFs of 1 MB, plus 1 MB
    r = api.post("/articles", files=[("files", ("a.pdf", b"%PDF-" + b"0" * (4 * 2**20)))])
    assert r.status_code == 413 and "over the 3 MB one request may carry" in r.text
    assert not list(tmp_path.iterdir())


class _FailingLLM:
    """Isolates the error framing: an LLM server that fails before, or in the middle of, a reply."""

    def __init__(self, settings):
        self.settings = settings

    def ask(self, question, **kwargs):
        raise GeneratorError("Could not reach the endpoint http://127.0.0.1:9/v1 (3 attempt(s)).")

    def ask_stream(self, question, **kwargs):
        yield "The officials "
        raise GeneratorError("The endpoint http://127.0.0.1:9/v1 did not answer within 1s "
                             "(mid-reply).")


def test_llm_failures_are_502_504_or_an_error_event(assistant):
    from fastapi.testclient import TestClient

    client = TestClient(create_api(_FailingLLM(assistant.settings)))
    r = client.post("/ask", json={"question": QUESTION})
    assert r.status_code == 502 and r.json()["error"]["type"] == "generator_failed"
    with client.stream("POST", "/ask/stream", json={"question": QUESTION}) as r:
        events = _events(r)
    assert events[0] == ("delta", {"text": "The officials "})
    assert events[-1][0] == "error" and events[-1][1]["error"]["type"] == "generator_timeout"
    with client.stream("POST", "/chat/completions", json={
            "stream": True, "messages": [{"role": "user", "content": QUESTION}]}) as r:
        lines = [json.loads(line[6:]) for line in r.iter_lines() if line]  # no [DONE]
    assert lines[1]["choices"][0]["delta"]["content"] == "The officials "
    assert "did not answer within 1s" in lines[-1]["error"]["message"]


def test_openapi_schema_and_offline_docs(http):
    schema = http.get("/openapi.json").json()
    assert schema["servers"] == [{"url": "/v1"}]
    assert {"/ask", "/ask/stream", "/index", "/articles", "/health", "/chat/completions",
            "/models"} <= set(schema["paths"])
    page = http.get("/docs").text
    assert "/v1/openapi.json" in page and "/v1/docs/assets/swagger-ui-bundle.js" in page
    assert "cdn" not in page and "https://" not in page
    assert http.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


# --- OpenAI-compatible ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def oai(server):
    return openai.OpenAI(base_url=server.url + "v1", api_key="not-needed", max_retries=0)


def test_models(oai):
    ids = [m.id for m in oai.models.list()]
    assert ids[0] == "corpus-assistant" and "corpus-assistant:extractive" in ids


def test_chat_completion_is_ask_through_the_openai_client(oai, assistant):
    want = assistant.ask(QUESTION).to_dict()
    got = oai.chat.completions.create(model="corpus-assistant",
                                      messages=[{"role": "system", "content": "Be brief."},
                                                {"role": "user", "content": QUESTION}],
                                      temperature=0.2, max_tokens=50)  # accepted, ignored
    assert got.object == "chat.completion" and got.choices[0].finish_reason == "stop"
    assert got.choices[0].message.content == want["text"]
    assert got.model_extra["citations"] == json.loads(json.dumps(want["citations"]))
    follow = oai.chat.completions.create(
        model="corpus-assistant:extractive",
        messages=HISTORY + [{"role": "user", "content": [{"type": "text",
                                                          "text": "Who did he meet there?"}]}])
    assert follow.choices[0].message.content == \
        assistant.ask("Who did he meet there?", history=HISTORY).text


def test_streamed_chat_completion_through_the_openai_client(oai, assistant, http):
    want = assistant.ask(QUESTION).to_dict()
    chunks = list(oai.chat.completions.create(
        model="corpus-assistant", messages=[{"role": "user", "content": QUESTION}], stream=True))
    assert all(c.object == "chat.completion.chunk" for c in chunks) and len(chunks) > 3
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == want["text"]
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == json.loads(json.dumps(want["citations"]))
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])
    with http.stream("POST", "/chat/completions", json={
            "model": "corpus-assistant", "stream": True,
            "messages": [{"role": "user", "content": QUESTION}]}) as r:
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines) and lines[-1] == "data: [DONE]"


def test_openai_errors_are_openai_errors(oai):
    ask = oai.chat.completions.create
    with pytest.raises(openai.NotFoundError, match="GET /v1/models"):
        ask(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    with pytest.raises(openai.BadRequestError, match="n=2 is not supported"):
        ask(model="corpus-assistant", n=2, messages=[{"role": "user", "content": QUESTION}])
    with pytest.raises(openai.BadRequestError, match="Tools and functions"):
        ask(model="corpus-assistant", messages=[{"role": "user", "content": QUESTION}],
            tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}])
    with pytest.raises(openai.BadRequestError, match="last message must be the user"):
        ask(model="corpus-assistant", messages=HISTORY)
    with pytest.raises(openai.BadRequestError, match="The question is empty"):
        ask(model="corpus-assistant", messages=[{"role": "user", "content": " "}], stream=True)


# --- limits ---------------------------------------------------------------------------------

@pytest.mark.timeout(300)
def test_16_api_clients_during_a_chat_session(server):
    """Every API client is answered or told 503 at once; the chat is answered; nothing hangs."""
    chat = server.client().submit(question=QUESTION, api_name="/ask")
    start = threading.Barrier(16)
    body = {"question": QUESTION}
    chat_body = {"model": "corpus-assistant", "messages": [{"role": "user", "content": QUESTION}]}

    def client(i):
        out = []
        with httpx.Client(base_url=server.url + "v1", timeout=120) as c:
            start.wait()
            for j in range(3):
                t0 = time.perf_counter()
                kind = (i + j) % 3
                if kind == 0:
                    r = c.post("/ask", json=body)
                    text = r.json()["text"] if r.status_code == 200 else ""
                elif kind == 1:
                    with c.stream("POST", "/ask/stream", json=body) as r:
                        events = _events(r) if r.status_code == 200 else r.read() and []
                    text = events[-1][1]["text"] if events and events[-1][0] == "answer" else ""
                else:
                    r = c.post("/chat/completions", json=chat_body)
                    text = r.json()["choices"][0]["message"]["content"] \
                        if r.status_code == 200 else ""
                out.append((r.status_code, text, r.json() if r.status_code == 503 else None,
                            time.perf_counter() - t0))
        return out

    with ThreadPoolExecutor(16) as pool:
        results = [x for part in pool.map(client, range(16)) for x in part]
    assert "Baku" in chat.result(timeout=120)["text"]
    statuses = [status for status, *_ in results]
    print(f"\n16 clients x 3 requests: {statuses.count(200)} answered, "
          f"{statuses.count(503)} told busy; slowest {max(t for *_, t in results):.1f} s")
    assert set(statuses) <= {200, 503} and statuses.count(200) >= 6
    assert all("Baku" in text for status, text, _, _ in results if status == 200)
    assert all(busy["error"]["type"] == "busy" for status, _, busy, _ in results if status == 503)
    assert http_health(server)["queue"]["admitted"] == 0  # every turn was given back


def http_health(server) -> dict:
    return httpx.get(server.url + "v1/health", timeout=30).json()


def test_gate_admits_concurrency_plus_queue_and_refuses_the_rest():
    async def scenario():
        gate = Gate(concurrency=1, queue_size=1)
        await gate.enter()  # running
        waiting = asyncio.ensure_future(gate.enter())
        await asyncio.sleep(0.01)
        assert not waiting.done() and gate.admitted == 2
        with pytest.raises(ApiError) as refused:
            await gate.enter()
        assert refused.value.status == 503
        gate.leave()
        await asyncio.wait_for(waiting, 1)  # the waiting one gets the freed turn
        gate.leave()
        assert gate.admitted == 0
    asyncio.run(scenario())


# --- auth ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    with AppServer(tmp_path_factory.mktemp("http-auth"), env=AUTH) as app:
        yield app


def test_credentials_are_required_when_configured(guarded):
    base = guarded.url + "v1"
    basic = base64.b64encode(b"reader:s3cret word").decode()
    wrong = base64.b64encode(b"reader:guess").decode()
    for path in ("/health", "/docs", "/openapi.json", "/models"):
        r = httpx.get(base + path)
        assert r.status_code == 401 and r.json()["error"]["type"] == "unauthorized"
        assert r.headers["www-authenticate"].startswith("Basic")
    for header, status in ((f"Basic {wrong}", 401), ("Bearer nope", 401), ("Basic !!", 401),
                           (f"Basic {basic}", 200), ("Bearer tok-123", 200)):
        assert httpx.get(base + "/health", headers={"Authorization": header}).status_code == status
    assert httpx.post(base + "/ask", json={"question": QUESTION}, timeout=60,
                      auth=("reader", "s3cret word")).status_code == 200
    assert httpx.post(base + "/index", timeout=60,
                      headers={"Authorization": "Bearer tok-123"}).status_code == 200
    ok = openai.OpenAI(base_url=base, api_key="tok-123", max_retries=0)
    assert "Baku" in ok.chat.completions.create(
        model="corpus-assistant", messages=[{"role": "user", "content": QUESTION}]
    ).choices[0].message.content
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=base, api_key="nope", max_retries=0).models.list()


# --- the docs page in a browser, with the network blocked -------------------------------------

@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is missing; `make browser`")
def test_docs_page_loads_with_the_network_blocked(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    outside, errors = [], []

    def block(route):
        if urlparse(route.request.url).hostname in ("127.0.0.1", "localhost"):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            page.route("**/*", block)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(server.url + "v1/docs")
            page.wait_for_selector(".opblock", timeout=30_000)
            paths = page.locator(".opblock-summary-path").all_inner_texts()
            page.locator(".opblock-summary", has_text="/health").first.click()
            page.get_by_role("button", name="Try it out").click()
            page.get_by_role("button", name="Execute").click()
            page.wait_for_selector(".response .microlight", timeout=30_000)
            shown = page.locator(".live-responses-table .response .response-col_status").first \
                .inner_text()
            body = page.locator(".live-responses-table .response .microlight").first.inner_text()
        finally:
            browser.close()
    assert {"/ask", "/ask/stream", "/chat/completions", "/health"} <= {s.strip() for s in paths}
    assert shown.strip().startswith("200") and '"ready": true' in body  # "Try it out" worked
    assert not outside and not errors, (outside, errors)
