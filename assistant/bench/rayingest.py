"""Ray ingestion: one build of the same synthetic corpus in one process, then on Ray with 1 and 2 actors."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np

from ..chunk import Chunker
from ..embed import get_embedder
from ..index import IndexStore
from ..ingest import read_corpus
from ..settings import PROJECT_ROOT, Settings
from .common import Section, Timer
from .synth import sentence_pool, write_articles


def _tree(root: int) -> list[int]:
    """root and every process below it (a local Ray cluster: GCS, raylet, agents, workers)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += parents.get(pid, [])
    return out


def _pss_mb(pids: list[int]) -> float:
    """Proportional set size summed over pids: shared pages (the model, libraries) counted once."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                total += next(int(line.split()[1]) for line in fh if line.startswith("Pss:"))
        except (OSError, StopIteration):
            continue
    return total / 1024


class _PeakMemory:
    """Samples the PSS of this process and its descendants every 0.25 s; `.peak` in MB."""

    def __enter__(self):
        self.peak, self._stop = 0.0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while True:
            self.peak = max(self.peak, _pss_mb(_tree(os.getpid())))
            if self._stop.wait(0.25):
                return

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run(workdir: Path, articles: int = 200, seed: int = 0, log=print) -> Section:
    """Index the same corpus three ways; the Ray runs start a fresh local cluster each."""
    from ..ray_ingest import RayEmbedder

    corpus_dir = workdir / "ray-corpus"
    write_articles(corpus_dir, articles, sentence_pool(PROJECT_ROOT / "corpus"), seed)
    s = Settings.load(corpus_dir=corpus_dir)
    local = get_embedder(s.embedding_model, s.embedding_batch_size)
    local.embed(["warm-up sentence for the embedding model"] * 8)  # every run starts warm
    section = Section("ray", f"Ray ingestion ({articles} articles, local cluster)")
    section.columns = ["run", "wall s", "chunks/s", "Ray start-up s (cluster + actors)",
                       "embedding chunks/s", "peak memory MB (PSS, driver + Ray)", "max |Δ| vs single"]
    base = None
    for actors in (0, 1, 2):
        label = "single process" if not actors else f"Ray, {actors} actor{'s' * (actors > 1)}"
        log(f"ray: indexing {articles} articles, {label} ...")
        embedder = RayEmbedder(local, actors=actors) if actors else local
        with _PeakMemory() as mem, Timer() as t:
            corpus = read_corpus(corpus_dir, s.max_file_mb)
            chunker = Chunker(s.chunk_tokens, s.chunk_overlap, s.tokenizer, fits=local.fits)
            store = IndexStore(workdir / f"ray-index-{actors}")
            report = store.sync(corpus, embedder, chunker, s.embedding_model, s.chunker_signature(),
                                rebuild=True, progress=False)
        if actors:
            embedder.close()
        vectors = np.asarray(store.load().vectors)
        base = vectors if base is None else base
        diff = float(np.abs(vectors - base).max())
        start = embedder.started_in if actors else 0.0
        rate = embedder.embedded / embedder.busy if actors else float("nan")
        section.rows.append([label, round(t.wall, 1), round(report.chunks / t.wall, 1),
                             round(start, 1) if actors else "-", round(rate, 1) if actors else "-",
                             round(mem.peak), f"{diff:.1e}"])
        key = f"actors_{actors}"
        section.figures.update({f"{key}_wall_s": t.wall, f"{key}_chunks_per_s": report.chunks / t.wall,
                                f"{key}_peak_mb": mem.peak, f"{key}_start_s": start})
        section.figures["chunks"] = report.chunks
    single, ray1 = section.figures["actors_0_chunks_per_s"], section.figures["actors_1_chunks_per_s"]
    start = section.figures["actors_1_start_s"]
    section.notes += [
        f"{section.figures['chunks']:,} chunks from {articles} synthetic articles (sentences of the "
        "real corpus, reworded), on this machine's cores: each run reads, chunks, embeds (default "
        "ONNX backend) and writes a fresh index. Ray runs start a local cluster (loopback only) and "
        "load the model once per actor; that start-up is inside their wall time. Memory is the "
        "peak PSS of the driver plus every Ray process, sampled every 0.25 s.",
        f"Ray's fixed cost here is about {start:.0f} s; on one machine it cannot embed faster than "
        f"one process, which already uses every core (single {single:.1f} vs 1 actor "
        f"{ray1:.1f} chunks/s overall). It pays on a cluster: with M machines like this one, a "
        f"build of N chunks takes about {start:.0f} s + N / (M x {single:.0f}) s against N / "
        f"{single:.0f} s, so from about {start * single / 0.5:,.0f} chunks at M=2, and "
        f"{start * single / 0.9:,.0f} at M=10.",
    ]
    return section
