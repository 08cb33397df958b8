"""The chat's HTTP API: gradio_client calls `ask` and gets what `assistant ask --json` prints."""

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # app.py lives at the top level, beside the package

import app  # noqa: E402
from assistant.errors import ConfigError  # noqa: E402
from assistant.records import Answer  # noqa: E402
from tests.servers import free_port  # noqa: E402

QUESTION = "Where was WTDC-25 held?"
# Gradio's queue calls pandas in ways pandas 3 deprecates; not ours to fix.
pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


@pytest.fixture(scope="module")
def service(assistant):
    return app.ChatService(assistant)


def _serve(service, auth=None):
    demo = app.build(service)
    _, url = app.launch(demo, port=free_port(), auth=auth, block=False)
    return demo, url


@pytest.fixture(scope="module")
def url(service):
    demo, url = _serve(service)
    yield url
    demo.close()


@pytest.fixture(scope="module")
def client(url):
    return gradio_client.Client(url, verbose=False)


def test_ask_returns_the_cli_json(client, assistant):
    got = client.predict(question=QUESTION, api_name="/ask")
    want = json.loads(json.dumps(assistant.ask(QUESTION).to_dict()))  # what --json prints
    assert set(got) == set(Answer("", "").to_dict())
    assert {k: v for k, v in got.items() if k != "timings"} == \
        {k: v for k, v in want.items() if k != "timings"}
    assert set(got["timings"]) == set(want["timings"])
    assert "Baku" in got["text"] and got["citations"][0]["source"] == "004_e48939797a376529.txt"


def test_ask_takes_filters_k_and_history(client):
    only_000 = client.predict(question=QUESTION, sources=["000_2a89f7724b3994e4.txt"],
                              api_name="/ask")
    assert only_000["abstained"] and only_000["text"].startswith("The corpus does not say")
    before = client.predict(question=QUESTION, until="2025-02-01", k=2, api_name="/ask")
    assert before["abstained"] and len(before["passages"]) <= 2
    follow = client.predict(question="Who did he meet there?", api_name="/ask",
                            history=[{"role": "user", "content": QUESTION},
                                     {"role": "assistant", "content": "In Baku. [1]"}])
    assert follow["query"] != follow["question"]  # resolved against the history
    dated = client.predict(question="Hashemi meeting", as_of="2025-02-01", k=10, api_name="/ask")
    assert all(p["date"] is None or p["date"] <= "2025-02-01" for p in dated["passages"])
    assert dated["notes"][0].startswith("Searched articles published up to 2025-02-01")


@pytest.mark.parametrize("kwargs, message", [
    ({"question": "   "}, "The question is empty"),
    ({"question": QUESTION, "since": "2025-13-01"}, "Invalid date '2025-13-01'"),
    ({"question": QUESTION, "generator": "nope"}, "Unknown generator 'nope'"),
])
def test_errors_come_back_as_messages(client, kwargs, message):
    with pytest.raises(gradio_client.exceptions.AppError, match=message) as err:
        client.predict(api_name="/ask", **kwargs)
    assert "Traceback" not in str(err.value)


def test_concurrent_requests_queue_and_all_finish(client):
    questions = ["Where was WTDC-25 held?", "Who is the Saudi ambassador to Iran?",
                 "Why did Saudi Arabia cut diplomatic ties with Iran in 2016?",
                 "Who won the 2030 World Cup?"] * 2
    jobs = [client.submit(question=q, api_name="/ask") for q in questions]
    answers = [job.result(timeout=120) for job in jobs]
    assert [a["question"] for a in answers] == questions
    assert answers[-1]["abstained"] and not answers[0]["abstained"]


def test_ask_stream_grows_the_text_then_ends_with_the_ask_answer(client):
    job = client.submit(question=QUESTION, api_name="/ask_stream")
    final = job.result(timeout=120)
    texts = [out["text"] for out in job.outputs()]
    assert len(texts) > 2 and all(b.startswith(a) for a, b in zip(texts, texts[1:-1]))
    assert "answer" not in job.outputs()[0] and final["text"] == final["answer"]["text"]
    plain = client.predict(question=QUESTION, api_name="/ask")
    assert final["answer"]["citations"] == plain["citations"] and final["text"] == plain["text"]
    with pytest.raises(gradio_client.exceptions.AppError, match="The question is empty"):
        client.predict(question=" ", api_name="/ask_stream")


def test_only_ask_is_public(client):
    assert set(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == \
        {"/ask", "/ask_stream"}


def test_basic_auth(service):
    demo, url = _serve(service, auth=("reader", "s3cret"))
    try:
        with pytest.raises(gradio_client.exceptions.AuthenticationError):
            gradio_client.Client(url, verbose=False)
        ok = gradio_client.Client(url, auth=("reader", "s3cret"), verbose=False)
        assert "Baku" in ok.predict(question=QUESTION, api_name="/ask")["text"]
    finally:
        demo.close()


@pytest.mark.parametrize("env, expected", [
    ({}, None),
    ({"ASSISTANT_AUTH_USER": "a", "ASSISTANT_AUTH_PASSWORD": "b"}, ("a", "b")),
])
def test_auth_from_env(monkeypatch, env, expected):
    monkeypatch.delenv("ASSISTANT_AUTH_USER", raising=False)
    monkeypatch.delenv("ASSISTANT_AUTH_PASSWORD", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert app.auth_from_env() == expected


def test_auth_needs_both_variables(monkeypatch):
    monkeypatch.setenv("ASSISTANT_AUTH_USER", "a")
    monkeypatch.delenv("ASSISTANT_AUTH_PASSWORD", raising=False)
    with pytest.raises(ConfigError, match="both"):
        app.auth_from_env()


def test_source_choices_and_status(service):
    choices = dict((value, label) for label, value in service.sources())
    assert len(choices) == 5 and "001_74af4bd25be794b0.txt" in choices
    assert "Tehran-Riyadh" in choices["001_74af4bd25be794b0.txt"]
    assert service.status().startswith("**5 articles**")
    assert QUESTION in service.examples()


def test_other_llm_endpoints_get_their_own_assistant(service, assistant):
    s = assistant.settings
    assert service.pick("extractive", "http://127.0.0.1:9/v1", "m") is assistant
    assert service.pick("openai", "", "") is assistant
    assert service.pick("openai", s.openai_base_url, s.openai_model) is assistant
    other = service.pick("openai", "http://127.0.0.1:9/v1", "tiny")
    assert other is not assistant and other.embedder is assistant.embedder
    assert (other.settings.openai_base_url, other.settings.openai_model) == \
        ("http://127.0.0.1:9/v1", "tiny")
    assert other.settings.index_dir == s.index_dir
    assert service.pick("openai", "http://127.0.0.1:9/v1", "tiny") is other  # cached


@pytest.mark.slow
def test_first_start_builds_the_index_and_later_starts_reuse_it(corpus_copy, tmp_path, capsys):
    index = tmp_path / "index"
    app.open_assistant(str(corpus_copy), str(index))
    first = capsys.readouterr().err
    app.open_assistant(str(corpus_copy), str(index))
    second = capsys.readouterr().err
    assert "Indexing" in first and "5 added" in first
    assert "5 unchanged; 0 chunks embedded" in second
