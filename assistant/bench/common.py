"""Shared pieces of the benchmarks: timers, percentiles, results, machine and version facts."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass, field

import numpy as np

from ..doctor import cpu, llama_features


@dataclass
class Target:
    """One figure held against its target from issue 6."""

    label: str
    measured: float
    limit: float
    unit: str
    at_least: bool = False  # a floor (hit rates) rather than a ceiling (milliseconds)

    @property
    def met(self) -> bool:
        return self.measured >= self.limit if self.at_least else self.measured <= self.limit

    @property
    def bound(self) -> str:
        return f"{'≥' if self.at_least else '≤'} {self.limit:g}"


@dataclass
class Section:
    """What one benchmark measured: a table, headline figures, targets and notes."""

    name: str
    title: str
    columns: list[str] = field(default_factory=list)
    rows: list[list] = field(default_factory=list)
    figures: dict[str, float] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    when: str = ""  # date and time it was measured (a report may merge parts of several runs)

    @classmethod
    def from_dict(cls, d: dict) -> "Section":
        d = dict(d)
        d["targets"] = [Target(**t) for t in d.get("targets", [])]
        return cls(**d)


class Timer:
    """Wall and CPU seconds of a `with` block (CPU time is the steadier one on a shared machine)."""

    def __enter__(self):
        self.wall0, self.cpu0 = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc):
        self.wall = time.perf_counter() - self.wall0
        self.cpu = time.process_time() - self.cpu0


def percentiles(values_s: list[float]) -> dict[str, float]:
    """p50/p95/mean in milliseconds."""
    if not values_s:
        return {"p50": float("nan"), "p95": float("nan"), "mean": float("nan")}
    a = np.asarray(values_s) * 1000.0
    return {"p50": float(np.percentile(a, 50)), "p95": float(np.percentile(a, 95)),
            "mean": float(a.mean())}


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def machine() -> dict[str, str]:
    """CPU, cores, memory, OS and Python, for the report header."""
    mem = ""
    try:
        mem = f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB"
    except (ValueError, OSError):
        pass
    load = ""
    if hasattr(os, "getloadavg"):
        load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    # llama.cpp's own feature line, so a figure can be traced to the build that made it.
    return {"cpu": cpu()["model"], "cores": str(os.cpu_count()), "memory": mem,
            "llama.cpp build": llama_features(),
            "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "load average (1/5/15 min) at start": load}


def quiet_logs() -> None:
    """Silence library progress bars and INFO logs that would drown the figures."""
    import logging

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    for name in ("sentence_transformers", "transformers", "bm25s", "faiss"):
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        hf_logging.set_verbosity_error()
    except ImportError:
        pass
