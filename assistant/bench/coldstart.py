"""Cold start: fresh processes for `import assistant` and `assistant ask` over a persisted index."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

from .common import Section, Target
from .workspace import REAL_CORPUS, Workspace

ASK_TARGET_S = 5.0
IMPORT_TARGET_S = 0.3
QUESTION = "Where was WTDC-25 held?"

# Runs in a fresh interpreter: seconds for each step to the first answer.
_PHASES = r"""
import json, sys, time
t0 = time.perf_counter()
import assistant
t1 = time.perf_counter()
from assistant.api import Assistant
t2 = time.perf_counter()
a = Assistant()
state = a._current()
t3 = time.perf_counter()
a.embedder.embed(["warm"])
t4 = time.perf_counter()
a.ask(sys.argv[1])
t5 = time.perf_counter()
print(json.dumps({"import assistant": t1 - t0, "import api (numpy, faiss...)": t2 - t1,
                  "load index + BM25": t3 - t2, "load embedding model (+ its imports)": t4 - t3,
                  "first ask()": t5 - t4}))
"""


def _env(ws: Workspace, backend: str) -> dict:
    return dict(os.environ, ASSISTANT_CORPUS_DIR=str(REAL_CORPUS),
                ASSISTANT_INDEX_DIR=str(ws.root / "index-real"), ASSISTANT_EMBEDDING_BACKEND=backend,
                HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")


def _wall(cmd: list[str], env: dict) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed: {done.stderr.strip()[-400:]}")
    return wall


def run(ws: Workspace, repeats: int = 3, backends: tuple[str, ...] = ("auto", "torch"),
        log=print) -> Section:
    """Median wall time of fresh processes (the index is built first, untimed)."""
    from ..api import Assistant

    Assistant(corpus_dir=REAL_CORPUS, index_dir=ws.root / "index-real").index(progress=False)
    s = Section("coldstart", "Cold start (fresh process, persisted index)")
    env = _env(ws, "torch")
    imp = [_wall([sys.executable, "-c", "import assistant"], env) for _ in range(repeats + 2)]
    inproc = []
    for _ in range(repeats + 2):
        out = subprocess.run([sys.executable, "-c", "import time; t=time.perf_counter(); "
                              "import assistant; print(time.perf_counter()-t)"],
                             env=env, capture_output=True, text=True, check=True)
        inproc.append(float(out.stdout.strip()))
    s.columns = ["measure", "backend", "median s", "runs"]
    s.rows.append(["python -c 'import assistant' (whole process)", "-", round(statistics.median(imp), 3), len(imp)])
    s.rows.append(["import assistant (in the process)", "-", round(statistics.median(inproc), 3), len(inproc)])
    s.figures["import_s"] = statistics.median(inproc)
    s.figures["import_process_s"] = statistics.median(imp)
    s.targets.append(Target("import assistant", s.figures["import_s"], IMPORT_TARGET_S, "s"))
    for backend in backends:
        env = _env(ws, backend)
        cmd = [sys.executable, "-m", "assistant.cli", "ask", QUESTION]
        _wall(cmd, env)  # first run of a backend may export its model once; not counted
        log(f"coldstart: assistant ask x{repeats} ({backend}) ...")
        walls = [_wall(cmd, env) for _ in range(repeats)]
        s.rows.append([f"assistant ask \"{QUESTION}\"", backend, round(statistics.median(walls), 2), repeats])
        s.figures[f"ask_{backend}_s"] = statistics.median(walls)
        if backend == "auto":  # the target is for what a user gets without configuring anything
            s.targets.append(Target(f"cold `assistant ask` (default backend: {_resolved()})",
                                    statistics.median(walls), ASK_TARGET_S, "s"))
        out = subprocess.run([sys.executable, "-c", _PHASES, QUESTION], env=env, capture_output=True,
                             text=True, timeout=300)
        if out.returncode == 0:
            phases = json.loads(out.stdout.strip().splitlines()[-1])
            for name, sec in phases.items():
                s.rows.append([f"  {name}", backend, round(sec, 3), 1])
    s.notes.append("Each `assistant ask` is a new interpreter: imports, index load, BM25 build, model "
                   "load and one answer. The phase rows come from one instrumented fresh process.")
    s.notes.append("auto is the default backend: ONNX for plain mean-pooling models such as the bundled "
                   "one; torch is what other sentence-transformers models (or a slim install without "
                   "onnxruntime) get.")
    return s


def _resolved() -> str:
    from ..embed import get_embedder
    from ..settings import BUNDLED_MODEL

    return get_embedder(BUNDLED_MODEL, backend="auto").backend
