"""Reading a Milvus version: its schema, the snapshot a process holds, dense and BM25 candidates."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from ..index import Snapshot
from ..records import Chunk
from ..terms import terms
from . import EMPTY, View

MAX = 2**62  # v_to of a row no published version has replaced
LIVE = "live"  # kind of the row that publishes a version
# Every field a row is written with (`sparse` is computed by Milvus from `text`), and what a search reads.
FIELDS = ["pk", "kind", "article_id", "source", "date", "v_from", "v_to", "vector", "text", "body", "meta"]
HIT_FIELDS = ["article_id", "source", "vector", "body", "meta"]
HNSW = {"M": 16, "efConstruction": 200}  # the feasibility run's recall@10 of 1.00 at 5k rows
IVF_NLIST = 128
# bm25s's defaults, so Milvus's BM25 scores a term as the folder store does (its tokens differ).
BM25 = {"bm25_k1": 1.5, "bm25_b": 0.75}
TOP_K = 16_384  # Milvus's largest limit per search


def day(date: str | None) -> int:
    """yyyymmdd as an integer Milvus can range-filter; 0 for undated."""
    return int(date.replace("-", "")) if date else 0


TERMS_MAX = 65535  # bytes: the body field's length; an article row's terms must fit it


def live_filter(n: int) -> str:
    return f"v_from <= {n} and v_to > {n}"


def all_rows(client, collection: str, expr: str, fields: list[str]) -> list[dict]:
    """Every row matching `expr` (one query() stops at 16,384)."""
    it = client.query_iterator(collection, batch_size=1000, filter=expr, output_fields=fields,
                               consistency_level="Strong")
    out: list[dict] = []
    while batch := it.next():
        out += batch
    it.close()
    return out


def analyzer(settings) -> dict:
    """ASSISTANT_MILVUS_ANALYZER, else what Lite has: standard tokens, lowercased, English stop words."""
    if settings.milvus_analyzer:
        return json.loads(settings.milvus_analyzer)
    from bm25s.stopwords import STOPWORDS_EN

    return {"tokenizer": "standard", "filter": ["lowercase", {"type": "stop", "stop_words": sorted(STOPWORDS_EN)}]}


def schema(dim: int, settings):
    """Chunk, article and live rows in one collection, so one alias switch moves them together."""
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    s = MilvusClient.create_schema(auto_id=False)
    s.add_field("pk", DataType.VARCHAR, max_length=1024, is_primary=True)
    s.add_field("kind", DataType.VARCHAR, max_length=8)  # chunk, article or live
    s.add_field("article_id", DataType.VARCHAR, max_length=1024)
    s.add_field("source", DataType.VARCHAR, max_length=1024)
    s.add_field("date", DataType.INT64)
    s.add_field("v_from", DataType.INT64)
    s.add_field("v_to", DataType.INT64)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    s.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                analyzer_params=analyzer(settings))  # what BM25 sees: title, heading and chunk
    s.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    s.add_field("body", DataType.VARCHAR, max_length=TERMS_MAX)  # chunk text; an article row's terms
    s.add_field("meta", DataType.VARCHAR, max_length=65535)  # JSON: the rest of a Chunk, or a manifest
    s.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                            output_field_names=["sparse"]))
    return s


def index_params(client, settings):
    p = client.prepare_index_params()
    kind = settings.milvus_index
    params = HNSW if kind == "HNSW" else {"nlist": IVF_NLIST} if kind == "IVF_FLAT" else {}
    p.add_index("vector", index_type=kind, metric_type="COSINE", params=params)
    p.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params=BM25)
    for name in ("kind", "article_id", "source", "date", "v_from", "v_to"):
        p.add_index(name, index_type="INVERTED")
    return p


@dataclass
class MilvusSnapshot:
    """One published version of a collection, as a process holds it until the next sync."""

    version: str  # collection@n
    manifest: dict  # the live row's manifest, plus "articles" (id -> article row)
    client: object
    collection: str
    live: int
    settings: object
    terms: dict  # article id -> its stemmed terms, space-separated ("" when they did not fit its row)

    compatible = Snapshot.compatible  # reads self.manifest only: model and chunker checks as in folders

    @property
    def index_info(self) -> dict:
        return self.manifest.get("index") or {}

    def searcher(self) -> "MilvusSearcher":
        return MilvusSearcher(self)

    def counts(self) -> tuple[int, int]:
        """(articles with chunks, chunks)."""
        return sum(1 for a in self.manifest["articles"].values() if a["chunks"]), self.manifest["chunks"]

    def article_rows(self) -> list[dict]:
        keys = ("id", "source", "title", "date", "url", "chunks")
        return [{k: a[k] for k in keys} for a in self.manifest["articles"].values() if a["chunks"]]


class MilvusSearcher:
    """Dense (vector index) and BM25 (sparse index) rankings computed by Milvus under the filters."""

    def __init__(self, snap: MilvusSnapshot):
        self.snap, self.client, self.collection = snap, snap.client, snap.collection
        articles = [a for a in snap.manifest["articles"].values() if a["chunks"]]
        self.undated = sum(1 for a in articles if not a["date"])
        self._sources = sorted({a["source"] for a in articles})
        self._base = f'kind == "chunk" and {live_filter(snap.live)}'
        self.vocabulary = self._vocabulary()
        self._search = {"HNSW": lambda pool: {"ef": max(pool, 64)},
                        "IVF_FLAT": lambda pool: {"nprobe": 16}}.get(snap.index_info.get("type"), lambda pool: {})

    def _vocabulary(self) -> set[str]:
        # The question's names are checked against every stemmed term (abstain.unknown_anchors).
        # Each article row carries its terms, read with the manifest: opening reads one row per
        # article, not every chunk (100k chunks on Lite: 104 s -> 33 s); chunks are read only for
        # articles whose row has none.
        vocabulary: set[str] = set()
        unlisted = []
        for aid, words in self.snap.terms.items():
            if words:
                vocabulary.update(words.split())
            elif self.snap.manifest["articles"][aid]["chunks"]:
                unlisted.append(aid)
        for lo in range(0, len(unlisted), 100):
            ids = json.dumps(unlisted[lo:lo + 100])
            for row in all_rows(self.client, self.collection, f"{self._base} and article_id in {ids}", ["text"]):
                vocabulary.update(terms(row["text"]))
        return vocabulary

    def admit(self, filters, scope) -> str:
        """The filters and the as_of cutoff as one Milvus expression, applied inside both searches."""
        parts = [self._base]
        if filters.sources:  # the folder store's rule (a name or part of one), resolved to exact names
            names = [s for s in self._sources if any(f == s or f in s for f in filters.sources)]
            if not names:
                return EMPTY
            parts.append(f"source in {json.dumps(names)}")
        if filters.since or filters.until:
            parts.append("date != 0")  # an undated article cannot be shown to fall in the range
            parts += [f"date >= {day(str(filters.since))}"] if filters.since else []
            parts += [f"date <= {day(str(filters.until))}"] if filters.until else []
        if scope.as_of:  # undated articles stay searchable, as in the folder store
            parts.append(f"(date == 0 or date <= {day(str(scope.as_of))})")
        return " and ".join(parts)

    def dense(self, qv: np.ndarray, pool: int, expr: str) -> list[dict]:
        params = {"metric_type": "COSINE", "params": self._search(pool)}
        return self._hits(np.asarray(qv, dtype=np.float32).tolist(), "vector", params, pool, expr)

    def sparse(self, query: str, pool: int, expr: str) -> list[dict]:
        return self._hits(query, "sparse", {"metric_type": "BM25"}, pool, expr)

    def _hits(self, data, field: str, params: dict, pool: int, expr: str) -> list[dict]:
        res = self.client.search(self.collection, data=[data], anns_field=field, limit=min(pool, TOP_K),
                                 filter=expr, search_params=params, output_fields=HIT_FIELDS,
                                 consistency_level="Strong")
        return [dict(h["entity"], pk=h["pk"]) for h in res[0]]

    def view(self, dense: list[dict], sparse: list[dict]) -> tuple[list[int], list[int], View]:
        """Both hit lists as rows 0..m-1 of one View built from the hits themselves."""
        row: dict[str, int] = {}
        hits: list[dict] = []
        for h in dense + sparse:
            if h["pk"] not in row:
                row[h["pk"]] = len(hits)
                hits.append(h)
        arts: dict[str, int] = {}
        for h in hits:
            arts.setdefault(h["article_id"], len(arts))
        known = self.snap.manifest["articles"]
        articles = [{k: known[a][k] for k in ("id", "source", "title", "date", "url")} for a in arts]
        chunks = [_chunk(h) for h in hits]
        dim = int(self.snap.manifest["dimension"])
        view = View(chunks.__getitem__, np.array([arts[h["article_id"]] for h in hits], dtype=np.int32),
                    articles, np.array([(c.start, c.end) for c in chunks], dtype=np.int64).reshape(-1, 2),
                    np.array([h["vector"] for h in hits], dtype=np.float32).reshape(-1, dim))
        return [row[h["pk"]] for h in dense], [row[h["pk"]] for h in sparse], view


def _chunk(h: dict) -> Chunk:
    m = json.loads(h["meta"])
    return Chunk(id=m["id"], article_id=h["article_id"], source=h["source"], title=m["title"], date=m["date"],
                 url=m["url"], heading=m["heading"], text=h["body"], start=m["start"], end=m["end"],
                 sentences=[tuple(s) for s in m["sentences"]])
