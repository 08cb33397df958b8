"""`assistant eval`: score the question set (or a BEIR folder) and write report.json, report.md, chart.png."""

from __future__ import annotations

import hashlib
import tempfile
import time
from pathlib import Path

import click

from ..errors import AssistantError, ConfigError
from ..settings import PROJECT_ROOT, Settings

DEFAULT_QUESTIONS = PROJECT_ROOT / "eval" / "questions.jsonl"
DEFAULT_OUT = PROJECT_ROOT / "eval" / "out"
# Named question sets shipped in eval/: name -> (questions, corpus; None = the default corpus).
SETS = {"default": (DEFAULT_QUESTIONS, None),
        "clapnq": (PROJECT_ROOT / "eval" / "clapnq" / "questions.jsonl",
                   PROJECT_ROOT / "eval" / "clapnq" / "corpus")}


def cache_index_dir(corpus: Path, model: str) -> Path:
    """A private index dir for another corpus, named by its path and model, under the temp dir."""
    # Reused between runs, so evaluating the same corpus again only embeds what changed, and
    # another corpus never lands in the default embeddings/ folder.
    key = hashlib.sha256(f"{corpus.resolve()}\0{model}".encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / "corpus-assistant-eval" / f"{corpus.stem or 'corpus'}-{key}"


def _assistant(corpus: Path | None, index_dir: Path | None):
    from ..api import Assistant

    settings = Settings.load()
    if corpus is None:
        return Assistant(settings, **({"index_dir": index_dir} if index_dir else {}))
    index_dir = index_dir or cache_index_dir(corpus, settings.embedding_model)
    if Path(index_dir).resolve() == Path(settings.index_dir).resolve():
        raise ConfigError(f"{index_dir} is the default index; evaluating {corpus} there would replace "
                          "it. Leave --index-dir out (a private dir is used) or pick another folder.")
    return Assistant(settings, corpus_dir=corpus, index_dir=index_dir)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--questions", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_QUESTIONS,
              show_default="eval/questions.jsonl", help="JSONL question set.")
@click.option("--set", "question_set", type=click.Choice(sorted(SETS)),
              help="A set shipped in eval/: its questions and corpus (clapnq: eval/clapnq/).")
@click.option("--split", type=click.Choice(["dev", "test", "all"]), default="all", show_default=True,
              help="Tune on dev, report test; 'all' reports both side by side.")
@click.option("--corpus", type=click.Path(exists=True, path_type=Path),
              help="Evaluate another corpus; it is indexed into its own index dir.")
@click.option("--index-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Index dir for --corpus/--beir (default: a hash-named dir under the temp dir).")
@click.option("--generator", help="Generator to evaluate (default: ASSISTANT_GENERATOR or extractive).")
@click.option("--k", type=click.IntRange(1, 100), help="Passages retrieved per question (default 5).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Where the reports go (default eval/out/<timestamp>).")
@click.option("--compare", "compare_to", type=click.Path(exists=True, path_type=Path),
              help="An earlier report.json: print deltas and flag regressions (exit 1).")
@click.option("--tolerance", type=click.FloatRange(0, 1), default=0.02, show_default=True,
              help="How much worse a metric may get before --compare calls it a regression.")
@click.option("--floors", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="eval/floors.json: exit 1 when a metric falls below its floor.")
@click.option("--beir", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="A BEIR folder (corpus.jsonl, queries.jsonl, qrels/test.tsv): score retrieval only.")
@click.option("--limit", type=click.IntRange(1), help="Only the first N questions (or judged queries).")
@click.option("--ignore-as-of", is_flag=True, help="Ask every question undated (as if asked today), "
              "ignoring the questions' as_of field.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when on a terminal).")
@click.pass_context
def eval_command(ctx, questions, question_set, split, corpus, index_dir, generator, k, out,
                 compare_to, tolerance, floors, beir, limit, ignore_as_of, progress):
    """Score retrieval, answers, citations and refusals on a fixed question set.

    \b
    Examples:
      assistant eval
      assistant eval --limit 20 --out /tmp/ev --compare eval/out/<earlier>/report.json
      assistant eval --set clapnq --split test
      assistant eval --corpus ~/news --questions ~/news-questions.jsonl
      assistant eval --beir ~/beir/scifact --k 10
      assistant eval --corpus ../shared/data/realtimeqa-dev/corpus \
                     --questions ../shared/data/realtimeqa-dev/questions.jsonl --k 10

    A question's "as_of" field (YYYY-MM-DD) is the day it is asked on; a "tier" field adds a
    per-tier table.
    """
    if question_set:
        if ctx.get_parameter_source("questions").name != "DEFAULT" or corpus:
            raise click.UsageError("--set names its own questions and corpus; drop --questions/--corpus.")
        questions, corpus = SETS[question_set]
    try:
        code = _run(questions, split, corpus, index_dir, generator, k, out, compare_to, tolerance,
                    floors, beir, limit, progress, ignore_as_of)
    except AssistantError as exc:
        click.echo(f"Error: {exc}", err=True)
        ctx.exit(exc.exit_code)
    ctx.exit(code)


def _run(questions, split, corpus, index_dir, generator, k, out, compare_to, tolerance, floors, beir,
         limit, progress, ignore_as_of=False) -> int:
    from . import report as rp
    from .beir import beir_files, run_beir
    from .questions import load_questions
    from .runner import run_questions

    # Everything that can be wrong with the inputs fails here, before any model loads.
    old = rp.load_report(compare_to) if compare_to else None
    limits = rp.load_floors(floors) if floors else None
    if beir and corpus:
        raise ConfigError("--beir brings its own corpus; drop --corpus.")
    if beir:
        corpus = beir_files(beir)[0]
    else:
        qs = load_questions(questions, limit, split)
        for q in qs if ignore_as_of else ():
            q.as_of = None
    rp.chart_available()
    a = _assistant(corpus, index_dir)
    if beir:
        result = run_beir(a, beir, k=k, limit=limit, progress=progress)
    else:
        a.generator(generator)  # an unknown name fails now, listing the valid ones
        report = a.index(progress=bool(progress))
        for problem in report.problems:
            click.echo(f"warning: skipped {problem}", err=True)
        result = run_questions(a, qs, generator=generator, k=k, progress=progress)
        result.meta["questions_file"] = str(questions)
        result.meta["as_of"] = "ignored" if ignore_as_of else "per question"
        result.meta["split"] = split
    out = out or DEFAULT_OUT / time.strftime("%Y%m%d-%H%M%S")
    paths = rp.write_reports(result, Path(out))
    click.echo(rp.metrics_table(result))
    if result.by_tier:
        click.echo("\n" + rp.tier_table(result))
    click.echo("\nWrote " + ", ".join(str(p) for p in paths))
    code = 0
    if old is not None:
        deltas = rp.compare(old, result.to_dict(), tolerance)
        click.echo("\n" + rp.format_deltas(deltas, tolerance))
        if old.get("meta", {}).get("k") != result.meta.get("k"):
            click.echo(f"note: k differs ({old.get('meta', {}).get('k')} vs {result.meta['k']}); "
                       "retrieval metrics are not comparable.", err=True)
        flagged = [d.name for d in deltas if d.regression]
        if flagged:
            click.echo(f"Regression beyond {tolerance:g}: {', '.join(flagged)}", err=True)
            code = 1
    if limits is not None:
        problems = rp.check_floors(result.metrics, limits)
        for p in problems:
            click.echo(f"floor: {p}", err=True)
        code = code or (1 if problems else 0)
    return code
