"""Synthetic benchmark data: news-like articles remixed from the real corpus, and vectors at scale."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np

_NAMES = ["Amini", "Rostami", "Karimi", "Haddad", "Okafor", "Novak", "Larsen", "Moreau", "Tanaka",
          "Silva", "Mensah", "Kowalski", "Petrov", "Nasser", "Fischer", "Rahimi", "Costa", "Ibrahim",
          "Duarte", "Lindqvist", "Osei", "Yilmaz", "Sato", "Varga", "Quinn", "Adeyemi", "Horvath"]
_PLACES = ["Lisbon", "Nairobi", "Tashkent", "Doha", "Oslo", "Hanoi", "Lima", "Accra", "Tbilisi",
           "Muscat", "Baku", "Yerevan", "Dakar", "Quito", "Riga", "Manila", "Tunis", "Almaty"]
_TOPICS = ["broadband", "satellite", "fintech", "cybersecurity", "postal services", "data centres",
           "5G rollout", "e-government", "undersea cables", "AI research", "digital identity"]
_WORD = re.compile(r"[A-Za-z][a-z]{3,}")


def sentence_pool(corpus_dir: Path) -> list[str]:
    """Every sentence of the real corpus, as the ingester cleans and splits it."""
    from ..ingest import read_corpus
    from ..sentences import split_sentences

    pool = []
    for art in read_corpus(corpus_dir).articles:
        pool += [art.text[a:b] for a, b in split_sentences(art.text)
                 if len(art.text[a:b].split()) >= 6]
    if not pool:
        raise ValueError(f"no sentences in {corpus_dir} to build synthetic articles from")
    return pool


def write_articles(dest: Path, n: int, pool: list[str], seed: int = 0, start: int = 0) -> list[Path]:
    """Write n .txt articles of real-looking sentences (names, places, numbers swapped) into dest."""
    rng = random.Random(seed * 1_000_003 + start)
    vocab = sorted({w.lower() for s in pool for w in _WORD.findall(s)})
    dest.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(start, start + n):
        topic, place = rng.choice(_TOPICS), rng.choice(_PLACES)
        title = f"{place} talks on {topic} with {rng.choice(_NAMES)} ({i})"
        date = f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        paragraphs, size = [], 0
        target = rng.randint(1800, 5200)  # the real articles run 2.2-5.1 KB
        while size < target:
            para = " ".join(_mutate(rng.choice(pool), rng, vocab, topic, place)
                            for _ in range(rng.randint(1, 4)))
            paragraphs.append(para)
            size += len(para)
        path = dest / f"synthetic_{i:06d}.txt"
        path.write_text(f"date {date} {title}\n\n" + "\n\n".join(paragraphs) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def _mutate(sentence: str, rng: random.Random, vocab: list[str], topic: str, place: str) -> str:
    """Swap capitalised names, numbers and ~15% of words so no two chunks repeat verbatim."""
    out = []
    for tok in sentence.split():
        core = tok.strip(".,;:!?\"'()«»“”’")
        if core[:1].isupper() and len(core) > 3 and rng.random() < 0.5:
            tok = tok.replace(core, rng.choice(_NAMES + _PLACES))
        elif core.isdigit():
            tok = tok.replace(core, str(rng.randint(2, 2030)))
        elif core.islower() and len(core) > 3 and rng.random() < 0.15:
            tok = tok.replace(core, rng.choice(vocab))
        out.append(tok)
    if rng.random() < 0.3:
        out.insert(rng.randrange(len(out) + 1), f"on {topic} in {place}")
    return " ".join(out)


def scaled_vectors(base: np.ndarray, n: int, seed: int = 0, batch: int = 100_000) -> np.ndarray:
    """n unit vectors: the real ones in `base` first, then draws from a Gaussian with their mean
    and covariance, renormalised: the same spread and anisotropy, no artificial duplicates."""
    rng = np.random.default_rng(seed)
    if n <= len(base):
        return np.ascontiguousarray(base[np.sort(rng.choice(len(base), n, replace=False))])
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    out[:len(base)] = base
    mean = base.mean(axis=0)
    # Factor the covariance once; tiny ridge keeps it positive definite with few samples.
    cov = np.cov(base, rowvar=False) + 1e-6 * np.eye(base.shape[1])
    factor = np.linalg.cholesky(cov).astype(np.float32)
    for lo in range(len(base), n, batch):
        hi = min(n, lo + batch)
        v = mean + rng.standard_normal((hi - lo, base.shape[1]), dtype=np.float32) @ factor.T
        out[lo:hi] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out


def question_variants(questions: list[str], n: int) -> list[str]:
    """n questions: the originals, then reworded copies (so query-embedding caches miss)."""
    prefixes = ["Tell me: ", "Quick question: ", "Do you know ", "I wonder, ", "Please answer: "]
    out = list(questions[:n])
    i = 0
    while len(out) < n:
        q = questions[i % len(questions)]
        prefix = prefixes[(i // len(questions)) % len(prefixes)]
        out.append(prefix + q[:1].lower() + q[1:])
        i += 1
    return out
