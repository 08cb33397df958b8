"""Chunk texts and metadata as memory-mapped columns: opening a million chunks parses nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from .records import Chunk

# Column files of one version's chunks/ folder (docs/index-format.md).
COLUMNS = ("ids", "article", "spans", "heading", "text_offsets", "sentence_offsets", "sentences")


class ChunkTable(Sequence):
    """The chunks of one index version: `len()`, `[i]` and iteration build Chunk objects on demand.

    Retrieval reads the numeric columns (`article`, and `articles` for dates and sources) without
    building any Chunk; only the passages it returns are materialised.
    """

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        cols = {name: np.load(self.folder / f"{name}.npy", mmap_mode="r") for name in COLUMNS}
        self.ids, self.article, self.spans = cols["ids"], cols["article"], cols["spans"]
        self.heading, self.text_offsets = cols["heading"], cols["text_offsets"]
        self.sentence_offsets, self.sentence_spans = cols["sentence_offsets"], cols["sentences"]
        meta = json.loads((self.folder / "tables.json").read_text(encoding="utf-8"))
        # One row per article that has chunks: id, source, title, date, url.
        self.articles: list[dict] = [dict(zip(("id", "source", "title", "date", "url"), row))
                                     for row in meta["articles"]]
        self.headings: list[str] = meta["headings"]
        blob = self.folder / "texts.bin"
        self._texts = np.memmap(blob, dtype=np.uint8, mode="r") if blob.stat().st_size else np.zeros(0, np.uint8)
        n = len(self.ids)
        if not (len(self.article) == len(self.spans) == len(self.heading) == n
                and len(self.text_offsets) == len(self.sentence_offsets) == n + 1
                and int(self.text_offsets[-1]) == len(self._texts)
                and int(self.sentence_offsets[-1]) == len(self.sentence_spans)):
            raise ValueError(f"chunk columns in {self.folder} disagree in length")

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        art = self.articles[int(self.article[i])]
        h = int(self.heading[i])
        s0, s1 = int(self.sentence_offsets[i]), int(self.sentence_offsets[i + 1])
        start, end = self.spans[i].tolist()
        return Chunk(id=self.ids[i].decode("ascii"), article_id=art["id"], source=art["source"],
                     title=art["title"], date=art["date"], url=art["url"],
                     heading=self.headings[h] if h >= 0 else None, text=self.text(i),
                     start=start, end=end, sentences=[tuple(s) for s in self.sentence_spans[s0:s1].tolist()])

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def text(self, i: int) -> str:
        """Chunk i's text, read from the blob without building the Chunk."""
        return bytes(self._texts[int(self.text_offsets[i]):int(self.text_offsets[i + 1])]).decode("utf-8")

    def sentences_of(self, i: int) -> tuple[str, int, list]:
        """Chunk i's text, its start in the article and its sentence spans, building no Chunk."""
        s0, s1 = int(self.sentence_offsets[i]), int(self.sentence_offsets[i + 1])
        return self.text(i), int(self.spans[i][0]), self.sentence_spans[s0:s1].tolist()

    live = None  # no row deleted (assistant.segments.Segments may have some)

    def live_rows(self):
        """Every row, in order."""
        return iter(range(len(self)))

    def rows_by_article(self) -> dict[str, list[int]]:
        """Article id -> its chunk rows, in row order."""
        order = np.argsort(self.article, kind="stable")
        bounds = np.searchsorted(self.article[order], np.arange(len(self.articles) + 1))
        return {a["id"]: order[bounds[j]:bounds[j + 1]].tolist() for j, a in enumerate(self.articles)
                if bounds[j + 1] > bounds[j]}


def write_chunks(folder: Path, chunks: Iterable[Chunk]) -> int:
    """Write chunks as the columns ChunkTable reads; returns how many were written."""
    folder.mkdir(parents=True, exist_ok=True)
    articles: dict[str, int] = {}
    rows: list[list] = []
    headings: dict[str, int] = {}
    ids, article, spans, heading, sentences = [], [], [], [], []
    text_offsets, sentence_offsets = [0], [0]
    with open(folder / "texts.bin", "wb") as blob:
        for c in chunks:
            if c.article_id not in articles:
                articles[c.article_id] = len(rows)
                rows.append([c.article_id, c.source, c.title, c.date, c.url])
            ids.append(c.id)
            article.append(articles[c.article_id])
            spans.append((c.start, c.end))
            heading.append(-1 if c.heading is None else headings.setdefault(c.heading, len(headings)))
            data = c.text.encode("utf-8")
            blob.write(data)
            text_offsets.append(text_offsets[-1] + len(data))
            sentences += c.sentences
            sentence_offsets.append(len(sentences))
    width = max((len(i) for i in ids), default=1)
    cols = {"ids": np.array(ids, dtype=f"S{width}"), "article": np.array(article, dtype=np.int32),
            "spans": np.array(spans, dtype=np.int64).reshape(-1, 2),
            "heading": np.array(heading, dtype=np.int32),
            "text_offsets": np.array(text_offsets, dtype=np.int64),
            "sentence_offsets": np.array(sentence_offsets, dtype=np.int64),
            "sentences": np.array(sentences, dtype=np.int64).reshape(-1, 2)}
    for name, col in cols.items():
        np.save(folder / f"{name}.npy", col)
    (folder / "tables.json").write_text(json.dumps({"articles": rows, "headings": list(headings)},
                                                   ensure_ascii=False), encoding="utf-8")
    return len(ids)


def read_jsonl(path: Path) -> list[Chunk]:
    """The chunks of a format-1 version (chunks.jsonl, one JSON object a line)."""
    out = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            d["sentences"] = [tuple(s) for s in d.get("sentences", [])]
            out.append(Chunk(**d))
    return out


def write_bm25(folder: Path, table: ChunkTable, others: list = ()) -> None:
    """Index every chunk's terms with bm25s and save it beside the columns (nothing when empty).

    others: the BM25 indexes of the segments this one joins (a delta), whose statistics it shares.
    """
    import logging

    import bm25s

    from .chunk import embed_text
    from .segments import delta_bm25
    from .terms import terms

    if not len(table):
        return
    logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
    texts = [terms(embed_text(c)) or ["__empty__"] for c in table]
    if others:
        bm25 = delta_bm25(texts, others)
    else:
        bm25 = bm25s.BM25()
        bm25.index(texts, show_progress=False)
    bm25.save(folder / "bm25", show_progress=False)


def load_bm25(folder: Path, n: int):
    """The saved BM25 index, memory-mapped (None for an empty index)."""
    import bm25s

    if not n:
        return None
    bm25 = bm25s.BM25.load(folder / "bm25", mmap=True)
    if bm25.scores["num_docs"] != n:
        raise ValueError(f"the BM25 index holds {bm25.scores['num_docs']} chunks, not {n}")
    return bm25
