"""`assistant bench`: run the benchmarks, print their tables, write docs/benchmarks.md and its chart."""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

import click

from ..settings import PROJECT_ROOT

PARTS = ("ingestion", "latency", "coldstart", "backends", "scale", "generation", "realtimeqa", "lean", "upload",
         "stores", "ray")
DEFAULT_OUT = PROJECT_ROOT / "docs" / "benchmarks.md"

# Full run vs --quick: the sizes each benchmark works at.
FULL = {"articles": 500, "questions": 200, "large_chunks": 50_000, "sizes": (1_000, 10_000, 100_000, 1_000_000),
        "backend_chunks": 600, "backend_queries": 100, "eval_limit": None, "cold_repeats": 3,
        "gen_runs": 3, "gen_tokens": 128, "rtqa_limit": None, "lean_sizes": (100_000,),
        "store_sizes": (10_000, 100_000), "ray_articles": 200, "upload_chunks": 1_000_000}
QUICK = {"articles": 40, "questions": 60, "large_chunks": 1_000, "sizes": (1_000, 10_000),
         "backend_chunks": 120, "backend_queries": 30, "eval_limit": 30, "cold_repeats": 1,
         "gen_runs": 1, "gen_tokens": 32, "rtqa_limit": 20, "lean_sizes": (10_000,),
         "store_sizes": (2_000,), "ray_articles": 20, "upload_chunks": 20_000}


def _parts(only: tuple[str, ...], skip: tuple[str, ...]) -> list[str]:
    chosen = [p for part in only for p in part.split(",") if p] or list(PARTS)
    skipped = {p for part in skip for p in part.split(",") if p}
    bad = sorted((set(chosen) | skipped) - set(PARTS))
    if bad:
        raise click.BadParameter(f"unknown part(s) {', '.join(bad)}; valid: {', '.join(PARTS)}")
    return [p for p in PARTS if p in chosen and p not in skipped]


def run_parts(parts: list[str], cfg: dict, ws, log=print) -> tuple[list, list[str]]:
    """Run the chosen benchmarks in order (later ones reuse what earlier ones built).

    Returns the finished sections and the names of the parts that failed.
    """
    from .common import quiet_logs

    quiet_logs()
    sections, failed = [], []
    for part in parts:
        try:
            section = _run_part(part, cfg, ws, log)
        except Exception as exc:  # noqa: BLE001 - one broken part must not discard the others
            import traceback

            log(f"{traceback.format_exc()}\n== {part}: FAILED ({type(exc).__name__}: {exc}); "
                "the other parts go on.")
            failed.append(part)
            continue
        sections.append(section)
        log(_text(section))
    return sections, failed


def _run_part(part: str, cfg: dict, ws, log):
    """One benchmark part, timed and stamped."""
    from . import backends, coldstart, generation, ingestion, latency, lean, rayingest, realtimeqa, scale, stores, upload
    from .common import Timer

    with Timer() as t:
        if part == "ingestion":
            section = ingestion.run(ws.root, cfg["articles"], log=log)
        elif part == "latency":
            section = latency.run(ws, cfg["questions"], cfg["large_chunks"], log=log)
        elif part == "coldstart":
            section = coldstart.run(ws, cfg["cold_repeats"], log=log)
        elif part == "backends":
            section = backends.run(ws, cfg["backend_chunks"], cfg["backend_queries"],
                                   eval_limit=cfg["eval_limit"], log=log)
        elif part == "scale":
            section = scale.run(*_scale_inputs(ws, cfg, log), sizes=cfg["sizes"], log=log)
        elif part == "generation":
            section = generation.run(cfg["gen_runs"], cfg["gen_tokens"], log=log)
        elif part == "lean":
            section = lean.run(ws, cfg["lean_sizes"], cfg["cold_repeats"], log=log)
        elif part == "upload":
            section = upload.run(ws, cfg["upload_chunks"], cfg["cold_repeats"], log=log)
        elif part == "stores":
            section = stores.run(ws, cfg["store_sizes"], log=log)
        elif part == "ray":
            section = rayingest.run(ws.root, cfg["ray_articles"], log=log)
        else:
            section = realtimeqa.run(log=log, limit=cfg["rtqa_limit"])
    section.seconds = t.wall
    section.when = time.strftime("%Y-%m-%d %H:%M")
    return section


def _scale_inputs(ws, cfg, log):
    from ..embed import get_embedder
    from ..settings import Settings
    from .workspace import questions

    s = Settings.load()
    embedder = get_embedder(s.embedding_model, s.embedding_batch_size)
    base = ws.real_vectors(embedder, at_least=min(1000, min(cfg["sizes"])))
    return base, embedder.embed(questions(cfg["questions"]))


def _text(section) -> str:
    from .report import table

    lines = [f"\n== {section.title} ({section.seconds:.0f} s)"]
    if section.rows:
        lines.append(table(section.columns, section.rows))
    lines += [f"target: {t.label}: {t.measured:,.3g} {t.unit} ({t.bound}) "
              f"{'met' if t.met else 'MISSED'}" for t in section.targets]
    return "\n".join(lines)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--quick", is_flag=True, help="Small sizes (a few minutes) for a smoke run.")
@click.option("--only", multiple=True, metavar="PART[,PART]",
              help=f"Run only these parts: {', '.join(PARTS)}.")
@click.option("--skip", multiple=True, metavar="PART[,PART]", help="Leave these parts out.")
@click.option("--sizes", help="Scale sizes, comma-separated (default 1000,10000,100000,1000000).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_OUT,
              show_default=True, help="Markdown report; the chart (.png) and figures (.json) go beside it. Parts not run "
              "keep their figures from the last report.")
@click.option("--no-write", is_flag=True, help="Print the figures only; leave docs/ alone.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Scratch folder for corpora and indexes (default: a temp folder, removed after).")
def bench_command(quick, only, skip, sizes, out, no_write, workdir):
    """Measure ingestion, query latency, cold start, embedding backends, index scale, generation,
    the lean index at 100k chunks, ingestion on Ray (with the [ray] extra) and, when
    ../shared/data/realtimeqa-dev exists, retrieval on RealTime QA.

    Prints each part's table as it finishes and writes docs/benchmarks.md with the machine,
    versions, date, targets and a chart. The full run took 25 minutes on 2 shared cores, 11 of
    them building the 1M-vector HNSW graph (leave 1M out with --sizes to save them).

    \b
    Examples:
      assistant bench --quick --no-write
      assistant bench --only latency,coldstart
      assistant bench --only scale --sizes 10000,100000
    """
    from .report import chart, merge, render
    from .workspace import Workspace

    parts = _parts(only, skip)
    if quick and not only:  # indexing 3,544 articles is no smoke run; name it with --only to run it
        parts = [p for p in parts if p != "realtimeqa"]
    import importlib.util

    if not only and importlib.util.find_spec("ray") is None:  # an optional extra: asked for by name
        parts = [p for p in parts if p != "ray"]
    cfg = dict(QUICK if quick else FULL)
    if sizes:
        try:
            cfg["sizes"] = tuple(int(x.replace("_", "")) for x in sizes.split(",") if x)
        except ValueError:
            raise click.BadParameter(f"--sizes wants integers, got {sizes!r}") from None
    started = time.time()
    scratch = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    log = lambda msg: click.echo(msg, err=True)  # noqa: E731 - progress to stderr, tables too
    from ..doctor import summary

    log(f"Running on: {summary()}")
    try:
        sections, failed = run_parts(parts, cfg, Workspace(scratch, log), log=log)
    finally:
        if not workdir:
            shutil.rmtree(scratch, ignore_errors=True)
    if failed:
        click.echo(f"Failed: {', '.join(failed)} (tracebacks above); the report keeps their last "
                   f"figures. Re-run them with: assistant bench --only {','.join(failed)}", err=True)
    if no_write:
        sys.exit(1 if failed else 0)
    # A partial run (--only) refreshes its parts and keeps the others from the last report.
    out.parent.mkdir(parents=True, exist_ok=True)
    sections = merge(out.with_suffix(".json"), sections, PARTS)
    png = out.with_suffix(".png")
    has_chart = chart(sections, png)
    command = "assistant bench" + (" --quick" if quick else "") + \
        (f" --only {','.join(parts)}" if set(parts) != set(PARTS) else "")
    out.write_text(render(sections, command, started, png.name if has_chart else None), encoding="utf-8")
    click.echo(f"Wrote {out}" + (f" and {png}" if has_chart else ""), err=True)
    missed = [t.label for s in sections for t in s.targets if not t.met]
    if missed:
        click.echo(f"Targets missed: {'; '.join(missed)} (see {out.name}).", err=True)
    sys.stdout.flush()
    sys.exit(1 if failed else 0)
