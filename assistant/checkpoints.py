"""Embedding that survives a kill: vectors checkpointed as they come, so a rerun embeds only the rest."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import numpy as np

# Vectors embedded by an unfinished sync, in the index folder, kept until a version is published.
CACHE = ".embedded"
# Texts embedded per checkpoint: a kill -9 loses at most this many (~7 s on 2 cores).
CHECKPOINT = 512


def embed(texts: list[str], embedder, model: str, cache: Path, progress: bool) -> tuple[np.ndarray, int]:
    """(vectors of `texts`, how many went through the model), checkpointing into `cache` as it goes.

    Every CHECKPOINT texts, their vectors are saved keyed by a hash of model and text, so a
    sync killed midway leaves them for the next run.
    """
    cache.mkdir(exist_ok=True)
    keys = [hashlib.sha256(f"{model}\0{t}".encode()).hexdigest()[:32] for t in texts]
    done: dict[str, np.ndarray] = {}
    for part in sorted(cache.glob("part-*.npz")):
        try:
            with np.load(part) as z:
                done.update(zip(z["keys"].tolist(), z["vectors"]))
        except Exception:  # noqa: BLE001 - torn by a power cut: embed those again
            part.unlink(missing_ok=True)
    missing = list({k: i for i, k in enumerate(keys) if k not in done}.values())
    bar = None
    if progress and missing:
        from tqdm import tqdm

        bar = tqdm(total=len(missing), desc="Embedding", unit="chunk")
    lo = 0
    while lo < len(missing):
        # A pool of workers (assistant/ray_ingest.py) asks for larger parts, so that one part
        # keeps all of them busy; read each time, as the pool knows its size once started.
        batch = missing[lo:lo + getattr(embedder, "checkpoint_every", CHECKPOINT)]
        vecs = np.asarray(embedder.embed([texts[i] for i in batch], progress=False), dtype=np.float32)
        names = np.array([keys[i] for i in batch])
        tmp = cache / f".part-{uuid.uuid4().hex[:8]}"
        with open(tmp, "wb") as fh:
            np.savez(fh, keys=names, vectors=vecs)
        os.replace(tmp, cache / f"part-{lo:09d}-{uuid.uuid4().hex[:6]}.npz")
        lo += len(batch)
        done.update(zip(names.tolist(), vecs))
        if bar:
            bar.update(len(batch))
    if bar:
        bar.close()
    return np.stack([done[k] for k in keys]), len(missing)
