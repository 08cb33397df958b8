"""Index stores side by side: build, open, query p50/p95, peak memory and disk for FAISS, Milvus Lite
in the process and Milvus through a local `milvus-lite server`, on one synthetic corpus."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .common import Section, percentiles
from .lean import _chunks, disk_mb

STORES = ("faiss", "milvus-lite", "milvus-server")
QUERIES = 100
DIM = 384


class _HashEmbedder:
    """A unit vector per text from its hash: builds time the store, not the model."""

    name, dimension, vector_space = "bench-hash", DIM, ""

    def embed(self, texts, progress=False) -> np.ndarray:
        out = np.stack([np.random.default_rng(int(hashlib.sha256(t.encode()).hexdigest()[:12], 16))
                        .standard_normal(DIM).astype(np.float32) for t in texts]) if texts else np.zeros((0, DIM), np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True) if len(out) else out


class _GivenChunks:
    """A chunker that returns the synthetic chunks made for each article."""

    def __init__(self, chunks: dict):
        self.chunks = chunks

    def chunk(self, article):
        return self.chunks[article.id]


def probe(backend: str, n: int, folder: str, uri: str = "") -> dict:
    """Build an index of n synthetic chunks in this (fresh) process, then time queries over it."""
    from ..ingest import Corpus
    from ..records import Article
    from ..retrieve import HybridRetriever
    from ..settings import Settings
    from ..stores import get_store
    from .synth import sentence_pool
    from .workspace import REAL_CORPUS

    pool, rng = sentence_pool(REAL_CORPUS), random.Random(0)
    meta = {f"synthetic-{j:07d}": {"source": f"synthetic_{j:07d}.txt", "title": f"Synthetic article {j}",
                                   "date": f"2025-{1 + j % 12:02d}-{1 + j % 28:02d}"} for j in range((n + 3) // 4)}
    by_article: dict[str, list] = {}
    for c in _chunks(n, pool, rng, meta):
        by_article.setdefault(c.article_id, []).append(c)
    articles = [Article(id=a, source=m["source"], title=m["title"], text="", date=m["date"], content_hash=a)
                for a, m in meta.items()]
    settings = Settings.load(index_backend=backend, index_dir=Path(folder) / "index", milvus_uri=uri)
    store, embedder = get_store(settings), _HashEmbedder()
    t0 = time.perf_counter()
    store.sync(Corpus(Path(folder), articles), embedder, _GivenChunks(by_article), embedder.name,
               settings.chunker_signature(), progress=False)
    t1 = time.perf_counter()
    retriever = HybridRetriever(store.load(), embedder)
    retriever.prepare()
    t2 = time.perf_counter()
    qs = [" ".join(rng.choice(pool).split()[:8]) for _ in range(QUERIES)]
    times = []
    for q in qs:
        qv = embedder.embed([q])[0]
        t = time.perf_counter()
        retriever.search(q, 5, query_vector=qv)
        times.append(time.perf_counter() - t)
    return {"build_s": t1 - t0, "open_s": t2 - t1, **percentiles(times[5:]), "peak_mb": _peak_mb(os.getpid())}


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _server(data: Path) -> tuple[subprocess.Popen, str]:
    """A milvus-lite server on a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = shutil.which("milvus-lite") or str(Path(sys.executable).parent / "milvus-lite")
    proc = subprocess.Popen([exe, "server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("milvus-lite server did not start in 30 s")


def run(ws, sizes: tuple[int, ...] = (10_000,), log=print) -> Section:
    """Each store at each size, each in a fresh process (a server in one more)."""
    s = Section("stores", "Index stores: FAISS, Milvus Lite and a Milvus server")
    s.columns = ["store", "chunks", "build s", "open s", "query p50 ms", "query p95 ms", "peak RSS MB",
                 "on disk MB"]
    for n in sizes:
        for store in STORES:
            folder = ws.root / f"stores-{store}-{n}"
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            server, uri, data = None, "", folder / "index" / "milvus.db"
            if store == "milvus-server":
                data = folder / "server"
                server, uri = _server(data)
            log(f"stores: {store}, {n:,} chunks ...")
            try:
                done = subprocess.run([sys.executable, "-m", "assistant.bench.stores", store.split("-")[0], str(n),
                                       str(folder), uri], capture_output=True, text=True, timeout=3600)
                if done.returncode:
                    raise RuntimeError(done.stderr[-3000:])
                m = json.loads(done.stdout.strip().splitlines()[-1])
                peak = m["peak_mb"] + (_peak_mb(server.pid) if server else 0.0)
            finally:
                if server:
                    server.terminate()
                    server.wait(30)
            disk = disk_mb(folder / "index" / (folder / "index" / "CURRENT").read_text().strip()) \
                if store == "faiss" else disk_mb(data)
            s.rows.append([store, n, round(m["build_s"], 1), round(m["open_s"], 2), round(m["p50"], 1),
                           round(m["p95"], 1), round(peak), round(disk)])
            s.figures[f"{store}_{n}_p50_ms"] = m["p50"]
    s.notes = [
        "Synthetic articles of real corpus sentences, 4 chunks each; vectors are unit vectors hashed from "
        "the text, so build time is the store's own work (no model). Query: one hybrid retrieval at k=5 "
        f"(dense + BM25 + the shared fusion and collapse), {QUERIES - 5} timed after 5 warm-up.",
        "Peak RSS: the process that builds and asks; for the server, plus the server process's peak. "
        "Milvus builds HNSW (M=16, efConstruction=200); FAISS is exact below 50k chunks, HNSW above.",
    ]
    return s


if __name__ == "__main__":
    backend, n, folder, uri = sys.argv[1], int(sys.argv[2]), sys.argv[3], (sys.argv[4:] or [""])[0]
    print(json.dumps(probe(backend, n, folder, uri)))
