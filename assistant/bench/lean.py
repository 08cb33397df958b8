"""Lean index: cold `assistant ask`, resident memory and bytes on disk over large indexes."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .common import Section, Target
from .synth import scaled_vectors
from .workspace import Workspace

QUESTION = "What did the ministers agree on broadband?"
# Issue 14's targets over the 83k-chunk RealTime QA index.
COLD_TARGET_S, RSS_TARGET_MB = 2.0, 600.0
# A checkout of the code before index format 2: measured over a format-1 copy as "before".
BASELINE_ENV = "ASSISTANT_BENCH_BASELINE"
# A built RealTime QA index (e.g. the lead's): copied, then measured as it is and converted.
RTQA_INDEX_ENV = "ASSISTANT_BENCH_RTQA_INDEX"

# Runs in a fresh interpreter: load and first answer, then the kernel's peak and current RSS.
_PROBE = r"""
import json, sys, time
t0 = time.perf_counter()
from assistant.api import Assistant
a = Assistant()
a._current()
t1 = time.perf_counter()
a.ask(sys.argv[1])
t2 = time.perf_counter()
vm = {k: int(v.split()[0]) / 1024 for k, v in (l.split(":", 1) for l in open("/proc/self/status")) if k.startswith("Vm")}
vm |= {k: int(v.split()[0]) / 1024 for k, v in (l.split(":", 1) for l in open("/proc/self/status")) if k == "RssAnon"}
print(json.dumps({"load_s": t1 - t0, "ask_s": t2 - t1, "peak_mb": vm["VmHWM"], "rss_mb": vm["VmRSS"],
                  "anon_mb": vm["RssAnon"]}))
"""


def synthetic_index(folder: Path, n: int, pool: list[str], base: np.ndarray, seed: int = 0,
                    articles: dict | None = None, chunks=None, corpus: Path | None = None) -> Path:
    """A current-format index of n chunks of real sentences and scaled vectors, no model involved.

    By default 4 chunks per article and no corpus behind it; a caller may give its own articles
    (manifest entries), their chunks, and the corpus folder they came from.
    """
    from ..index import FORMAT, IndexStore
    from ..settings import Settings

    settings = Settings.load()
    folder.mkdir(parents=True, exist_ok=True)
    if articles is None:
        articles = {f"synthetic-{j:07d}": {"source": f"synthetic_{j:07d}.txt", "hash": f"{j:016x}",
                                           "title": f"Synthetic article {j}",
                                           "date": f"2025-{1 + j % 12:02d}-{1 + j % 28:02d}"}
                    for j in range((n + 3) // 4)}
        chunks = _chunks(n, pool, random.Random(seed), articles)
    manifest = {"format": FORMAT, "model": settings.embedding_model, "dimension": int(base.shape[1]),
                "chunker": settings.chunker_signature(), "corpus": str(corpus or folder / "no-corpus"),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S"), "articles": articles}
    IndexStore(folder)._write(manifest, chunks, scaled_vectors(base, n, seed))
    return folder


def _chunks(n: int, pool: list[str], rng: random.Random, articles: dict, per_article: int = 4):
    """per_article chunks per article, each ~600 characters of whole pool sentences."""
    from ..records import Chunk

    ids = list(articles)
    for i in range(n):
        aid = ids[i // per_article]
        art = articles[aid]
        offset = (i % per_article) * 10_000  # chunks of one article never overlap
        spans, text = [], ""
        while len(text) < 600:
            sentence = rng.choice(pool)
            start = len(text) + (1 if text else 0)
            text = f"{text} {sentence}" if text else sentence
            spans.append((offset + start, offset + len(text)))
        yield Chunk(id=hashlib.sha256(f"{aid}:{i}".encode()).hexdigest()[:16], article_id=aid,
                    source=art["source"], title=art["title"], date=art["date"], url=None, heading=None,
                    text=text, start=offset, end=offset + len(text), sentences=spans)


def as_format1(index_dir: Path) -> None:
    """Rewrite the live version as format 1 wrote it (chunks.jsonl and a FAISS file), for baselines."""
    import faiss

    from ..index import IndexStore

    snap = IndexStore(index_dir).load()
    with open(snap.path / "chunks.jsonl", "w", encoding="utf-8") as fh:
        for c in snap.chunks:
            fh.write(json.dumps(dataclasses.asdict(c), ensure_ascii=False) + "\n")
    index = snap.writable_faiss()
    if index is None:
        index = faiss.IndexFlatIP(snap.vectors.shape[1])
        index.add(np.ascontiguousarray(snap.vectors))
    faiss.write_index(index, str(snap.path / "index.faiss"))
    if not (snap.path / "vectors.npy").exists():  # format 1 always had it; an HNSW version of 3 does not
        np.save(snap.path / "vectors.npy", np.asarray(snap.vectors))
    shutil.rmtree(snap.path / "chunks")
    (snap.path / "manifest.json").write_text(json.dumps(snap.manifest | {"format": 1}))


def _env(index_dir: Path, corpus: Path, code: Path | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    env |= {"ASSISTANT_INDEX_DIR": str(index_dir), "ASSISTANT_CORPUS_DIR": str(corpus),
            "ASSISTANT_AUTO_INDEX": "false", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if code:
        env["PYTHONPATH"] = str(code)
    return env


def cold(index_dir: Path, corpus: Path, code: Path | None = None, repeats: int = 3) -> dict:
    """Median wall time of `assistant ask` in fresh processes, and one probed process's phases and RSS."""
    env = _env(index_dir, corpus, code)
    walls = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "assistant.cli", "ask", QUESTION], env=env,
                              capture_output=True, text=True, timeout=900, cwd=code)
        walls.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise RuntimeError(f"assistant ask over {index_dir} failed: {done.stderr.strip()[-400:]}")
    probe = subprocess.run([sys.executable, "-c", _PROBE, QUESTION], env=env, capture_output=True,
                           text=True, timeout=900, check=True, cwd=code)
    return {"wall_s": statistics.median(walls), **json.loads(probe.stdout.strip().splitlines()[-1])}


def disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def run(ws: Workspace, sizes: tuple[int, ...] = (100_000,), repeats: int = 3, log=print) -> Section:
    """Synthetic indexes of `sizes` chunks (and the RealTime QA index when given), before and after."""
    from ..embed import get_embedder
    from ..settings import Settings
    from .realtimeqa import DATA, available

    s = Section("lean", "Lean index: cold start and memory at scale")
    s.columns = ["index", "chunks", "format", "on disk MB", "cold ask s", "load s", "first ask s",
                 "peak RSS MB", "steady RSS MB"]
    baseline = Path(os.environ[BASELINE_ENV]) if os.environ.get(BASELINE_ENV) else None
    settings = Settings.load()
    base = ws.real_vectors(get_embedder(settings.embedding_model, settings.embedding_batch_size), at_least=1000)
    corpus = ws.root / "lean-empty-corpus"
    corpus.mkdir(exist_ok=True)

    def measure(label, folder, n, fmt, corpus, code=None):
        log(f"lean: cold ask x{repeats} over {label} ({n:,} chunks, format {fmt}) ...")
        m = cold(folder, corpus, code, repeats)
        s.rows.append([label, n, fmt, round(disk_mb(folder / (folder / "CURRENT").read_text().strip())),
                       round(m["wall_s"], 2), round(m["load_s"], 2), round(m["ask_s"], 2),
                       round(m["peak_mb"]), round(m["rss_mb"])])
        return m

    for n in sizes:
        folder = ws.root / f"lean-{n}"
        shutil.rmtree(folder, ignore_errors=True)
        log(f"lean: writing a synthetic index of {n:,} chunks (no embedding) ...")
        t0 = time.perf_counter()
        synthetic_index(folder, n, ws.pool, base)
        s.figures[f"write_{n}_s"] = time.perf_counter() - t0
        if baseline:
            before = ws.root / f"lean-{n}-format1"
            shutil.copytree(folder, before, dirs_exist_ok=True)
            as_format1(before)
            measure("synthetic", before, n, 1, corpus, baseline)
        m = measure("synthetic", folder, n, 2, corpus)
        s.figures |= {f"cold_{n}_s": m["wall_s"], f"peak_{n}_mb": m["peak_mb"], f"rss_{n}_mb": m["rss_mb"]}
    rtqa = Path(os.environ[RTQA_INDEX_ENV]) if os.environ.get(RTQA_INDEX_ENV) else None
    if rtqa and (rtqa / "CURRENT").exists() and available():
        _rtqa(s, ws, rtqa, baseline, measure, log)
    else:
        s.notes.append(f"RealTime QA: set {RTQA_INDEX_ENV} to a built index (and keep "
                       f"{DATA} in place) to measure it; skipped in this run.")
    s.notes += [
        "Synthetic indexes hold 4 chunks per article of ~600 characters of real corpus sentences; their "
        "vectors are drawn like the scale benchmark's (no model runs), and the index type is the "
        "default for their size. Each `assistant ask` is a fresh process with ASSISTANT_AUTO_INDEX=false; "
        "cold ask is the median wall time, the other columns come from one probed process (VmHWM, "
        "VmRSS after answering; mapped index pages count in both).",
        f"Format 1 rows run the code in {BASELINE_ENV} over a format-1 copy of the same index."
        if baseline else f"No format-1 baseline in this run (set {BASELINE_ENV} to a checkout to add one).",
    ]
    return s


def _rtqa(s: Section, ws: Workspace, source: Path, baseline, measure, log) -> None:
    """Copy the RealTime QA index, measure it as found, convert it with `assistant index`, measure again."""
    from .realtimeqa import DATA

    folder = ws.root / "lean-rtqa"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(source, folder, ignore=shutil.ignore_patterns(".lock"))
    live = folder / (folder / "CURRENT").read_text().strip()
    if json.loads((live / "manifest.json").read_text()).get("format") == 1 and baseline:
        with open(live / "chunks.jsonl", encoding="utf-8") as fh:
            n = sum(1 for _ in fh)
        measure("RealTime QA", folder, n, 1, DATA / "corpus", baseline)
    log("lean: converting the RealTime QA index (assistant index) ...")
    env = _env(folder, DATA / "corpus", None) | {"ASSISTANT_AUTO_INDEX": "true"}
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "assistant.cli", "index"], env=env, capture_output=True,
                          text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"assistant index failed: {done.stderr.strip()[-400:]}")
    s.figures["rtqa_convert_s"] = time.perf_counter() - t0
    s.notes.append(f"RealTime QA: `assistant index` over the copied index took "
                   f"{s.figures['rtqa_convert_s']:.0f} s: {done.stdout.strip().splitlines()[-1]}")
    from ..index import IndexStore

    n = len(IndexStore(folder).load().chunks)
    m = measure("RealTime QA", folder, n, 2, DATA / "corpus")
    s.figures |= {"rtqa_cold_s": m["wall_s"], "rtqa_peak_mb": m["peak_mb"], "rtqa_rss_mb": m["rss_mb"]}
    s.targets += [Target(f"cold `assistant ask` over RealTime QA ({n:,} chunks)", m["wall_s"], COLD_TARGET_S, "s"),
                  Target("resident memory answering over RealTime QA", m["peak_mb"], RSS_TARGET_MB, "MB")]
