"""Hostile questions: a clear message or a normal answer, never a traceback, in the Python API,
the CLI and the chat's HTTP API."""

import json
import os
import subprocess
import sys
import time

import pytest

from assistant.errors import ConfigError, QuestionError

BIN = [sys.executable, "-m", "assistant.cli"]
SEED = "Where was WTDC-25 held?"
LIMIT = 2000  # settings.max_question_chars

# Questions that must be answered or abstained from: (question, a phrase the answer holds).
ANSWERED = {
    "control characters": ("Where\x00 was\x07 WTDC-25\x1b[31m held?\x7f\x9b", "Baku"),
    "emoji": ("\U0001F914 Where was WTDC-25 held? \U0001F1E6\U0001F1FF\u2764\ufe0f", "Baku"),
    "emoji only": ("\U0001F914\U0001F914\U0001F914", None),
    "persian": ("\u0633\u0641\u06cc\u0631 \u0639\u0631\u0628\u0633\u062a\u0627\u0646 \u062f\u0631 "
                "\u0627\u06cc\u0631\u0627\u0646 \u06a9\u06cc\u0633\u062a\u061f", None),
    "arabic": ("\u0645\u0646 \u0647\u0648 \u0633\u0641\u064a\u0631 \u0627\u0644\u0633\u0639\u0648"
               "\u062f\u064a\u0629 \u0644\u062f\u0649 \u0625\u064a\u0631\u0627\u0646\u061f", None),
    "chinese": ("WTDC-25\u5728\u54ea\u91cc\u4e3e\u884c\uff1f", None),
    "right-to-left override": ("\u202eWhere was WTDC-25 held?\u202c", "Baku"),
    "lone surrogate": ("Where was \ud800 WTDC-25 held?", "Baku"),
    "100k characters": (((SEED + " ") * 4200)[:100_000], "Baku"),
    "100k one word": ("x" * 100_000, None),
    "100k combining marks": ("e\u0301" * 50_000, None),
    "markup": ("<script>alert(1)</script><img src=x onerror=alert(2)> " + SEED, "Baku"),
    "sql and shell": ("'; DROP TABLE chunks; -- $(rm -rf /) `reboot`", None),
    "format strings": ("{0} {question} %s %(x)d {{}}", None),
    "punctuation only": ("?!?!...", None),
}
# Questions with nothing to ask: (question, the message).
REFUSED = {
    "empty": ("", "The question is empty"),
    "whitespace": (" \t\n\r\u00a0\u2003 ", "The question is empty"),
    "NUL only": ("\x00\x00\x00", "no readable characters"),
    "zero-width only": ("\u200b\u200d\ufeff", "no readable characters"),
    "control only": ("\x01\x02\x1b\x7f", "no readable characters"),
}


def _check_answer(answer, question: str, expect: str | None):
    assert answer.text.strip()
    assert answer.abstained or answer.citations  # an answer cites, or says it cannot
    assert all(c.isprintable() or c in "\n\t" for c in answer.question)
    assert len(answer.question) <= LIMIT and len(answer.query) <= LIMIT
    if expect:
        assert expect in answer.text
    if len(question) > LIMIT:
        assert any(n.startswith(f"The question was longer than {LIMIT} characters") for n in
                   answer.notes)


# -- the Python API ----------------------------------------------------------------------

@pytest.mark.parametrize("name", list(ANSWERED))
def test_api_answers_hostile_questions(assistant, name):
    question, expect = ANSWERED[name]
    t0 = time.perf_counter()
    answer = assistant.ask(question)
    assert time.perf_counter() - t0 < 20  # a 100k question costs no more than a short one
    _check_answer(answer, question, expect)


@pytest.mark.parametrize("name", list(REFUSED))
def test_api_explains_questions_with_nothing_to_ask(assistant, name):
    question, message = REFUSED[name]
    with pytest.raises(QuestionError, match=message):
        assistant.ask(question)


@pytest.mark.parametrize("value, message", [
    (None, "The question is empty"),
    (b"Where was WTDC-25 held?", "must be text, not bytes"),
    (42, "must be text, not int"),
    (["Where?"], "must be text, not list"),
])
def test_api_explains_questions_that_are_not_text(assistant, value, message):
    with pytest.raises(QuestionError, match=message):
        assistant.ask(value)


def test_over_long_question_is_cut_for_embedding_with_a_note(assistant):
    question = "Where was WTDC-25 held? " + "Tell me every detail. " * 5000
    answer = assistant.ask(question)
    assert answer.question == question[:LIMIT].strip()
    assert answer.notes[0] == (f"The question was longer than {LIMIT} characters; only the "
                               f"first {LIMIT} were used.")
    assert len(answer.query) <= LIMIT  # what is embedded and searched
    assert answer.abstained or answer.citations  # the padding may dilute it; either is fine


@pytest.mark.parametrize("name", ["control characters", "persian", "100k characters", "markup"])
def test_streaming_handles_hostile_questions(assistant, name):
    """The chat streams: the same inputs end in one complete Answer there too."""
    question, expect = ANSWERED[name]
    items = list(assistant.ask_stream(question))
    assert all(isinstance(i, str) for i in items[:-1])
    _check_answer(items[-1], question, expect)
    assert "".join(items[:-1]) == items[-1].text


@pytest.mark.parametrize("history", [
    "not a list", ["a string turn"], [{"role": "user"}], [{"content": "no role"}],
    [{"role": "user", "content": None}], [{"role": "user", "content": 5}],
])
def test_malformed_history_is_a_clear_error(assistant, history):
    with pytest.raises(QuestionError, match="history must be a list of"):
        assistant.ask("Who did he meet there?", history=history)
    with pytest.raises(QuestionError, match="history must be a list of"):
        list(assistant.ask_stream("Who did he meet there?", history=history))


def test_huge_history_is_clipped(assistant):
    history = [{"role": "user", "content": "x" * 100_000},
               {"role": "assistant", "content": "y" * 100_000}] * 50
    answer = assistant.ask("Who did he meet there?", history=history)
    assert answer.text and len(answer.query) < 3 * LIMIT


@pytest.mark.parametrize("k", [-1, 101, 10**9, 2.5, "5"])
def test_bad_k_is_a_clear_error(assistant, k):
    with pytest.raises(ConfigError, match="number of passages from 1 to 100"):
        assistant.ask(SEED, k=k)


# -- the CLI -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cli_env(assistant):
    """The CLI over the session's index, read as it is (auto_index off: nothing rewrites it)."""
    s = assistant.settings
    return dict(os.environ, ASSISTANT_CORPUS_DIR=str(s.corpus_dir),
                ASSISTANT_INDEX_DIR=str(s.index_dir), ASSISTANT_AUTO_INDEX="false",
                HF_HUB_OFFLINE="1")


def _cli(env, *args, **kwargs):
    return subprocess.run(BIN + list(args), env=env, capture_output=True, timeout=300, **kwargs)


def _no_traceback(done):
    err = done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err[-2000:]
    return err


@pytest.mark.slow
def test_cli_answers_control_characters_emoji_and_invalid_utf8(cli_env):
    # Bytes as a shell would pass them: a bell, an escape sequence, a byte that is not UTF-8
    # (Python receives it as a lone surrogate) and an emoji.
    arg = b"Where\x07 was \x1b[1m\xff\xfe WTDC-25 held? \xf0\x9f\xa4\x94"
    done = _cli(cli_env, "ask", arg, "--json")
    _no_traceback(done)
    assert done.returncode == 0
    data = json.loads(done.stdout)
    assert "Baku" in data["text"] and data["citations"]
    assert all(c.isprintable() for c in data["question"])


@pytest.mark.slow
def test_cli_prints_non_english_text_in_a_plain_c_locale(cli_env):
    persian, _ = ANSWERED["persian"]
    env = {k: v for k, v in cli_env.items() if not k.startswith(("LC_", "LANG", "PYTHONIOENC"))}
    done = _cli(env | {"LC_ALL": "C"}, "ask", persian)
    _no_traceback(done)
    assert done.returncode == 0
    assert persian in done.stdout.decode("utf-8")  # the refusal names the question


@pytest.mark.slow
def test_cli_cuts_a_100k_question_and_says_so(cli_env):
    question, _ = ANSWERED["100k characters"]
    done = _cli(cli_env, "ask", question)
    err = _no_traceback(done)
    assert done.returncode == 0 and "Baku" in done.stdout.decode()
    assert f"note: The question was longer than {LIMIT} characters" in err


@pytest.mark.parametrize("question, message", [
    ("", "The question is empty"),
    (" \t\n ", "The question is empty"),
    ("\x01\x02\x1b", "no readable characters"),
    ("\u200b\ufeff", "no readable characters"),
])
def test_cli_explains_empty_questions_in_one_line(cli_env, question, message):
    done = _cli(cli_env, "ask", question)
    err = _no_traceback(done)
    assert done.returncode == 2
    assert err.strip().splitlines() == [err.strip()]  # one line
    assert err.startswith("Error: ") and message in err


def test_cli_question_that_looks_like_an_option(cli_env):
    done = _cli(cli_env, "ask", "-5 degrees in Tehran?")
    err = _no_traceback(done)
    assert done.returncode == 2 and "No such option" in err  # click's usage message
    assert "ask --help" in err


# -- the chat's HTTP API -------------------------------------------------------------------

@pytest.fixture(scope="module")
def chat(tmp_path_factory):
    """`python app.py --port <free>` over a corpus copy and index of its own."""
    from tests.servers import AppServer

    with AppServer(tmp_path_factory.mktemp("chat")) as server:
        yield server


@pytest.fixture(scope="module")
def client(chat):
    return chat.client()


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ANSWERED))
def test_http_api_answers_hostile_questions(client, name):
    question, expect = ANSWERED[name]
    if name == "lone surrogate":  # JSON cannot carry one: the client sends the replacement
        question = question.replace("\ud800", "\ufffd")
    got = client.predict(question=question, api_name="/ask")
    assert got["text"].strip() and (got["abstained"] or got["citations"])
    assert len(got["question"]) <= LIMIT
    if expect:
        assert expect in got["text"]
    if len(question) > LIMIT:
        assert any(f"longer than {LIMIT} characters" in n for n in got["notes"])


@pytest.mark.slow
@pytest.mark.parametrize("kwargs, message", [
    *[({"question": q}, m) for q, m in REFUSED.values()],
    ({"question": "Who did he meet there?", "history": [{"role": "user"}]},
     "history must be a list of"),
    ({"question": "Who did he meet there?", "history": ["just text"]},
     "history must be a list of"),
    ({"question": SEED, "k": -3}, "number of passages from 1 to 100"),
    ({"question": SEED, "sources": ["../../etc/passwd"]}, None),  # filters, not paths
])
def test_http_api_explains_bad_requests(client, kwargs, message):
    import gradio_client

    if message is None:
        got = client.predict(api_name="/ask", **kwargs)
        assert got["abstained"] and got["passages"] == []
        return
    with pytest.raises(gradio_client.exceptions.AppError, match=message) as err:
        client.predict(api_name="/ask", **kwargs)
    assert "Traceback" not in str(err.value) and "Something went wrong" not in str(err.value)


@pytest.mark.slow
def test_http_server_logged_no_traceback(chat, client):
    client.predict(question=ANSWERED["emoji"][0], api_name="/ask")
    assert "Traceback" not in chat.log()
