"""The local GGUF model runs in a supervised child: started on first use, the extractive answer
(not a dead process) when it crashes mid-answer, restarted for the next question, never left
behind."""

import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from assistant import Assistant
from assistant.generators.llamacpp import LlamaCppGenerator
from tests.servers import ROOT, AppServer
from tests.test_verify import SEED

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]
CRASHES = [(signal.SIGSEGV, r"signal 11 \(SIGSEGV\)"), (signal.SIGKILL, r"signal 9 \(SIGKILL\)")]


def model_children(parent: int | None = None) -> set[int]:
    """Running llama_child processes (of `parent`, when given), read from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue  # ended while we looked
        state, ppid = fields[0], int(fields[1])
        if b"assistant.generators.llama_child" in cmdline and state != "Z" and \
                (parent is None or ppid == parent):
            found.add(int(stat.parent.name))
    return found


def wait_gone(pids: set[int], seconds: float = 20) -> set[int]:
    """The pids still alive after waiting up to `seconds` for them to end."""
    deadline = time.monotonic() + seconds
    while pids & model_children() and time.monotonic() < deadline:
        time.sleep(0.2)
    return pids & model_children()


@pytest.fixture(scope="module")
def local(assistant):
    """The session's index answered by the bundled GGUF, in its own child (context 2048)."""
    a = Assistant(assistant.settings.replace(generator="llamacpp", llm_max_tokens=64,
                                             llm_context=2048, auto_index=False))
    a.embedder = assistant.embedder
    yield a
    a.generator().server.stop()


def test_the_child_starts_on_first_use_and_stops(local):
    gen = LlamaCppGenerator(local.settings, local.embedder)
    assert gen._server is None  # constructing starts nothing
    assert gen.count_tokens("Where was WTDC-25 held?") > 3  # the model's own tokenizer
    pid = gen.server.proc.pid
    assert pid in model_children(os.getpid())
    gen.server.stop()
    assert not wait_gone({pid})


@pytest.mark.parametrize("sig, how", CRASHES, ids=["SEGV", "KILL"])
def test_a_crash_mid_answer_falls_back_and_the_next_question_restarts(local, sig, how):
    stream = local.ask_stream(SEED)
    assert isinstance(next(stream), str)  # the model has started writing
    crashed = local.generator().server.proc.pid
    os.kill(crashed, sig)
    fallback = list(stream)[-1]  # the extractive answer, saying why it stands in
    assert fallback.generator == "extractive" and "Baku" in fallback.text and fallback.citations
    assert re.search(r"llamacpp answer was set aside \(it failed: The local model stopped \("
                     + how + r"\).*restarts on the next question", fallback.notes[-1])
    answer = local.ask(SEED)
    assert "Baku" in answer.text and any(n.startswith("llm: ") for n in answer.notes)
    assert local.generator().server.proc.pid not in (crashed, None)


SCRIPT = textwrap.dedent("""
    import sys, time
    from assistant.generators.llamacpp import LlamaCppGenerator
    from assistant.settings import Settings
    gen = LlamaCppGenerator(Settings.load(llm_context=1024), None)
    gen.count_tokens("hello")
    print(gen.server.proc.pid, flush=True)
    if sys.argv[1] == "hang":
        time.sleep(600)
""")


@pytest.mark.parametrize("ending", ["exit", "SIGKILL"])
def test_no_child_outlives_the_process_that_started_it(ending):
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, "exit" if ending == "exit" else "hang"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child = int(proc.stdout.readline())
    assert child in model_children(proc.pid)
    if ending == "SIGKILL":  # no atexit runs: the child sees its stdin pipe close
        proc.kill()
    proc.wait(timeout=60)
    assert not wait_gone({child}), f"the model child {child} outlived its parent ({ending})"


def test_the_running_chat_survives_a_crashing_model(tmp_path):
    before = model_children()
    with AppServer(tmp_path) as server:
        client = server.client()
        for sig, how in CRASHES:
            job = client.submit(question=SEED, generator="llamacpp", api_name="/ask_stream")
            deadline = time.monotonic() + 120
            while not job.outputs() and time.monotonic() < deadline:
                time.sleep(0.05)  # wait for the first streamed words
            (child,) = model_children(server.proc.pid)
            os.kill(child, sig)
            fallback = job.result(timeout=120)["answer"]  # the extractive answer stands in
            assert fallback["generator"] == "extractive" and "Baku" in fallback["text"]
            assert re.search(how + r".*restarts on the next question", fallback["notes"][-1])
            answer = client.predict(question=SEED, generator="llamacpp", api_name="/ask")
            assert "Baku" in answer["text"] and answer["citations"]
            assert server.proc.poll() is None  # the chat never went down
        started = model_children(server.proc.pid)
        assert len(started) == 1
    assert not wait_gone(started), "the model child outlived the chat"
    assert model_children() <= before
