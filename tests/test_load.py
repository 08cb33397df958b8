"""The chat server under load on loopback: every question answered, p95 and memory measured,
and a full queue turns newcomers away at once with "Queue is full" instead of a hang."""

import json
import os
import statistics
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytest.importorskip("gradio")
gradio_client = pytest.importorskip("gradio_client")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # app.py lives at the top level, beside the package

from tests.servers import AppServer, free_port  # noqa: E402

ARTIFACTS = ROOT / "test-artifacts"
# Gradio's queue calls pandas in ways pandas 3 deprecates; not ours to fix.
pytestmark = [pytest.mark.filterwarnings("ignore:.*no_silent_downcasting"),
              pytest.mark.filterwarnings("ignore:The copy keyword is deprecated")]


# Twenty questions: answerable, unanswerable, follow-ups and hostile input, each asked under
# ten harmless lead-ins so the 200 are all different (no answer comes from a cache).
QUESTIONS = [
    ("Where was WTDC-25 held?", "Baku"),
    ("Who is the Saudi ambassador to Iran?", None),
    ("Which transit corridor did Hashemi call very important for the region?", None),
    ("Why did Saudi Arabia cut diplomatic ties with Iran in 2016?", None),
    ("Who won the 2030 World Cup?", "The corpus does not say"),
    ("What did Hashemi and the Omani ambassador discuss?", None),
    ("When will the WTDC-25 conference end?", None),
    ("Who did he meet there?", None),  # a follow-up, sent with history
    ("Where was WTDC-25 held? \U0001F914\U0001F1E6\U0001F1FF", "Baku"),
    ("سفیر عربستان در ایران کیست؟", None),
    ("WTDC-25在哪里举行？", None),
    ("Where\x07 was\x1b[0m WTDC-25 held?\x7f", "Baku"),
    ("Where was WTDC-25 held? " * 250, "Baku"),  # ~6,000 characters: truncated with a note
    ("<script>alert(1)</script> Where was WTDC-25 held?", "Baku"),
    ("Which countries signed agreements on fiber links?", None),
    ("What is the population of Mars?", "The corpus does not say"),
    ("What did the ministers say about artificial intelligence?", None),
    ("Which ministry does Sattar Hashemi lead?", None),
    ("How long has the Iranian ambassador been in his post?", None),
    ("What happened to the Saudi embassy in Tehran?", None),
]
LEAD_INS = ["", "quick question: ", "i wonder, ", "tell me please: ", "from the news: ",
            "briefly, ", "one more thing: ", "in short, ", "please answer: ", "so, "]
HISTORY = [{"role": "user", "content": "Where was WTDC-25 held?"},
           {"role": "assistant", "content": "It was held in Baku, Azerbaijan. [1]"}]


def _workload():
    for lead in LEAD_INS:
        for question, expect in QUESTIONS:
            history = HISTORY if question.startswith("Who did he") else None
            yield lead + question, expect, history


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_200_questions_over_16_clients(tmp_path):
    """A bounded run: 16 gradio_client clients share 200 questions; every one is answered."""
    work = list(_workload())
    assert len(work) == 200 and len({q for q, _, _ in work}) == 200
    with AppServer(tmp_path) as server:
        started = server.memory_mib()[0]
        warm = server.client().predict(question="Where was WTDC-25 held?", api_name="/ask")
        assert "Baku" in warm["text"]
        warm_rss = server.memory_mib()[0]
        clients = [server.client() for _ in range(16)]
        samples, done = [], threading.Event()

        def sample():  # the server's resident memory, five times a second
            while not done.is_set():
                samples.append(server.memory_mib()[0])
                done.wait(0.2)

        def worker(i):
            out = []
            for question, expect, history in work[i::16]:
                t0 = time.perf_counter()
                try:
                    got = clients[i].predict(question=question, history=history,
                                             api_name="/ask")
                except Exception as exc:  # noqa: BLE001 - counted and reported below
                    got = {"error": f"{type(exc).__name__}: {exc}"}
                out.append((question, expect, got, time.perf_counter() - t0))
            return out

        sampler = threading.Thread(target=sample)
        sampler.start()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            results = [r for part in pool.map(worker, range(16)) for r in part]
        wall = time.perf_counter() - t0
        done.set()
        sampler.join()
        after, peak = server.memory_mib()
        log = server.log()

    errors = [(q[:60], got["error"]) for q, _, got, _ in results if "error" in got]
    assert not errors, errors[:5]
    assert len(results) == 200
    for question, expect, got, _ in results:
        assert got["text"] and (got["abstained"] or got["citations"]), question[:60]
        if expect:
            assert expect in got["text"], (question[:60], got["text"][:200])
        if len(question) > 2000:
            assert any("longer than 2000" in n for n in got["notes"])
    follow = [got for q, _, got, _ in results if "Who did he" in q]
    assert all(got["query"] != got["question"] for got in follow)  # resolved with history
    assert "Traceback" not in log

    latencies = [s for *_, s in results]
    server_ms = [got["timings"]["total"] for _, _, got, _ in results]
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(),
        "questions": 200, "clients": 16, "answered": len(results) - len(errors),
        "abstained": sum(got["abstained"] for _, _, got, _ in results),
        "wall_s": round(wall, 1), "throughput_qps": round(200 / wall, 2),
        "latency_s": {"p50": round(_pct(latencies, 0.5), 2),
                      "p95": round(_pct(latencies, 0.95), 2),
                      "max": round(max(latencies), 2),
                      "mean": round(statistics.mean(latencies), 2)},
        "pipeline_s": {"p50": round(_pct(server_ms, 0.5), 3),
                       "p95": round(_pct(server_ms, 0.95), 3)},
        "rss_mib": {"started": round(started), "after_first_answer": round(warm_rss),
                    "peak_during_load": round(max(samples, default=after)),
                    "after_load": round(after), "process_peak": round(peak)},
    }
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "load-report.json").write_text(json.dumps(report, indent=1))
    print("\nload:", json.dumps(report))
    # Degrading gracefully: 16 clients share 2 workers, so each waits for the others' turns,
    # but nobody waits without end and memory does not run away.
    assert report["latency_s"]["p95"] < 60
    assert report["rss_mib"]["after_load"] - warm_rss < 400


class _GatedChat(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that holds every request until the test opens the gate."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.arrived.append(body["model"])
        self.server.gate.wait(120)
        reply = {"id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
                 "choices": [{"index": 0, "finish_reason": "stop", "message": {
                     "role": "assistant",
                     "content": "WTDC-25 was held in Baku, Azerbaijan. [1]"}}]}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def gated_llm():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _GatedChat)
    server.daemon_threads = True
    server.arrived, server.gate = [], threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.gate.set()
    server.shutdown()


@pytest.mark.timeout(240)
def test_a_full_queue_turns_the_17th_client_away_at_once(assistant, gated_llm):
    """One worker busy and 15 waiting fill a queue of 15: client 17 hears "Queue is full" at
    once rather than hanging, and the 16 already in line are all answered."""
    import app
    from gradio_client.utils import QueueError
    from assistant import Assistant

    slow = Assistant(assistant.settings.replace(
        generator="openai", openai_base_url=f"http://127.0.0.1:{gated_llm.server_port}/v1",
        auto_index=False))
    slow.embedder = assistant.embedder
    demo = app.build(app.ChatService(slow))
    _, url = app.launch(demo, port=free_port(), block=False, concurrency=1, queue_size=15)
    try:
        clients = [gradio_client.Client(url, verbose=False) for _ in range(17)]
        jobs = [clients[0].submit(question="Where was WTDC-25 held?", api_name="/ask")]
        _wait(lambda: len(gated_llm.arrived) == 1, "the first question to reach the model")
        jobs += [c.submit(question="Where was WTDC-25 held?", api_name="/ask")
                 for c in clients[1:16]]
        _wait(lambda: len(demo._queue) == 15, "15 questions to wait in the queue")
        t0 = time.perf_counter()
        with pytest.raises(QueueError, match="Queue is full"):
            clients[16].predict(question="Where was WTDC-25 held?", api_name="/ask")
        told = time.perf_counter() - t0
        print(f"\nqueue full: the 17th client was told in {told * 1000:.0f} ms")
        assert told < 10  # at once, not after the line clears
        gated_llm.gate.set()
        answers = [job.result(timeout=120) for job in jobs]
        assert all("Baku" in a["text"] and a["citations"] for a in answers)
        assert len(gated_llm.arrived) == 16  # one at a time, as configured
    finally:
        gated_llm.gate.set()
        demo.close()


def _wait(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)
