"""The openai generator against a real llama.cpp server on 127.0.0.1, and endpoints that fail."""

import contextlib
import socket
import threading
import time

import pytest

from assistant import Assistant
from assistant.errors import GeneratorError
from assistant.followup import standalone
from assistant.generators.llamacpp import default_model_path
from assistant.generators.openai_compat import OpenAIGenerator
from tests.servers import free_port, llama_server
from tests.test_verify import SEED, assert_streams_verified, assert_verified

pytestmark = pytest.mark.slow
HISTORY = [{"role": "user", "content": SEED},
           {"role": "assistant", "content": "It was held in Baku, Azerbaijan. [1]"}]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """python -m llama_cpp.server with the bundled GGUF; yields its /v1 base URL, stops after."""
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    with llama_server(default_model_path(), log) as running:
        yield running.base


@pytest.fixture(scope="module")
def remote(assistant, server):
    """The session's index, answered through the server by the openai generator."""
    a = Assistant(assistant.settings.replace(generator="openai", openai_base_url=server,
                                             openai_model="smollm2", llm_max_tokens=64,
                                             request_timeout=120, auto_index=False))
    a.embedder = assistant.embedder
    return a


_CHUNK = (b'data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m",'
          b'"choices":[{"index":0,"delta":{"content":"Baku"},"finish_reason":null}]}\n\n')
_STALLED = (b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n" % (len(_CHUNK), _CHUNK))


@pytest.fixture
def stuck_server():
    """Loopback sockets that accept and then go quiet: /silent never answers, /stalled stops
    after the first streamed chunk."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    held, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            with contextlib.suppress(OSError):
                conn, _ = listener.accept()
                held.append(conn)
                if b"/stalled/" in conn.recv(65536):
                    conn.sendall(_STALLED)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    listener.close()


def failing(assistant, url, **overrides) -> OpenAIGenerator:
    settings = assistant.settings.replace(openai_base_url=url, **overrides)
    return OpenAIGenerator(settings, assistant.embedder)


def test_streaming_through_the_server_yields_deltas_then_a_verified_answer(remote, capsys):
    first, deltas, answer, total = assert_streams_verified(remote, "openai")
    with capsys.disabled():
        print(f"\nopenai (llama.cpp server) stream: first delta {first:.2f}s, {len(deltas)} deltas "
              f"in {total:.2f}s")


def test_openai_generator_answers_a_followup_through_the_server(remote):
    answer = remote.ask("What dates is it held on?", history=HISTORY)
    assert answer.question == "What dates is it held on?" and not answer.abstained
    assert answer.query  # condensed by the model, or resolved by rule when it rambles
    assert any(n.startswith("llm: ") for n in answer.notes)  # the server was asked
    assert any(n.startswith("verify: ") for n in answer.notes)  # and its reply checked
    if answer.generator == "extractive":  # nothing it wrote held: the extractive answer stands
        assert any("the openai answer was set aside" in n for n in answer.notes), answer.notes
    else:
        assert answer.generator == "openai"
        assert_verified(answer, remote)


def test_a_wrong_path_reports_the_http_status_and_the_url(assistant, server):
    gen = failing(assistant, server.removesuffix("/v1") + "/nope", request_retries=0)
    with pytest.raises(GeneratorError, match=r"/nope answered HTTP 404"):
        gen.generate(SEED, assistant.retrieve(SEED))


def test_an_unreachable_endpoint_fails_fast_naming_the_url(assistant):
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there any more
    gen = failing(assistant, url, request_retries=1)
    t0 = time.perf_counter()
    with pytest.raises(GeneratorError) as err:
        gen.generate(SEED, assistant.retrieve(SEED))
    assert time.perf_counter() - t0 < 10
    assert f"Could not reach the endpoint {url} (2 attempt(s))" in str(err.value)
    assert "ASSISTANT_OPENAI_BASE_URL" in str(err.value)


def test_a_silent_endpoint_times_out_instead_of_hanging(assistant, stuck_server):
    url = f"{stuck_server}/silent/v1"
    gen = failing(assistant, url, request_timeout=1.0, request_retries=1)
    passages = assistant.retrieve(SEED)
    for call in (lambda: gen.generate(SEED, passages),
                 lambda: list(gen.generate_stream(SEED, passages))):
        t0 = time.perf_counter()
        with pytest.raises(GeneratorError) as err:
            call()
        assert time.perf_counter() - t0 < 10
        assert f"The endpoint {url} did not answer within 1s (2 attempt(s))" in str(err.value)


def test_a_stream_that_stalls_mid_reply_times_out(assistant, stuck_server):
    url = f"{stuck_server}/stalled/v1"
    gen = failing(assistant, url, request_timeout=1.0, request_retries=1)
    deltas = []
    t0 = time.perf_counter()
    with pytest.raises(GeneratorError, match=r"did not answer within 1s \(mid-reply\)"):
        for item in gen.generate_stream(SEED, assistant.retrieve(SEED)):
            deltas.append(item)
    assert deltas == ["Baku"] and time.perf_counter() - t0 < 10


def test_condense_falls_back_to_rule_based_resolution_when_the_endpoint_fails(assistant):
    gen = failing(assistant, f"http://127.0.0.1:{free_port()}/v1", request_retries=0)
    question = "When did it start?"
    assert gen.condense(question, HISTORY) == standalone(question, HISTORY)


def asking(assistant, url) -> Assistant:
    """The session's index answered through `url` by the openai generator, 1 s timeout."""
    a = Assistant(assistant.settings.replace(generator="openai", openai_base_url=url,
                                             request_timeout=1.0, request_retries=0,
                                             auto_index=False))
    a.embedder = assistant.embedder
    return a


def test_a_timeout_answers_with_the_extractive_answer_and_says_why(assistant, stuck_server):
    for path, call in (("silent", lambda a: a.ask(SEED)),
                       ("stalled", lambda a: list(a.ask_stream(SEED))[-1])):
        answer = call(asking(assistant, f"{stuck_server}/{path}/v1"))
        assert answer.generator == "extractive" and "Baku" in answer.text and answer.citations
        assert "the openai answer was set aside (it failed: The endpoint" in answer.notes[-1]
        assert "did not answer within 1s" in answer.notes[-1]


def test_an_endpoint_never_reached_is_an_error_not_a_fallback(assistant):
    url = f"http://127.0.0.1:{free_port()}/v1"  # a wrong URL is the user's to fix
    with pytest.raises(GeneratorError, match=f"Could not reach the endpoint {url}"):
        asking(assistant, url).ask(SEED)
