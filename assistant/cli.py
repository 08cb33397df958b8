"""The `assistant` command line (click): index, ask, eval. Errors print one line and exit non-zero."""

from __future__ import annotations

import json
import sys

import click

from .errors import AssistantError


class _Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except AssistantError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except OSError as exc:  # disk full, permission denied, a file where a folder should be
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"Error: {exc.strerror or exc}{where}. Check that path and its "
                       "permissions (ASSISTANT_CORPUS_DIR, ASSISTANT_INDEX_DIR).", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Answer questions from a news corpus, offline, with cited passages.

    \b
    Example:
      assistant index corpus/
      assistant ask "Where was WTDC-25 held?"
    """


@main.command()
@click.argument("path", required=False, type=click.Path(file_okay=True, dir_okay=True))
@click.option("--rebuild", is_flag=True, help="Re-embed every article, even unchanged ones.")
@click.option("--index-dir", type=click.Path(file_okay=False), help="Where the index lives "
              "(default: ASSISTANT_INDEX_DIR or embeddings/).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", metavar="[ADDRESS]",
              help="Embed on a Ray cluster: a local one without ADDRESS, else host:port, ray://... "
              "or auto (needs the [ray] extra).")
@click.option("--ray-actors", type=click.IntRange(1), envvar="ASSISTANT_RAY_ACTORS",
              help="Embedding actors on Ray, each loading the model once (default: the cluster's CPUs).")
@click.option("--ray-batch", type=click.IntRange(1), envvar="ASSISTANT_RAY_BATCH",
              help="Chunks per call to a Ray actor (default 64).")
def index(path, rebuild, index_dir, ray_address, ray_actors, ray_batch):
    """Build or update the index for PATH (default: the corpus folder).

    Only new or changed articles are embedded; removed ones are dropped.

    \b
    Examples:
      assistant index ~/news --index-dir ~/news-index
      assistant index ~/news --ray                  # a local Ray cluster
      assistant index ~/news --ray 10.0.0.5:6379    # an existing one
    """
    from .api import Assistant

    overrides = {"index_dir": index_dir}
    if path:
        overrides["corpus_dir"] = path
    a = Assistant(**overrides)
    if ray_address:
        from .ray_ingest import RayEmbedder, check

        address = None if ray_address == "local" else ray_address
        check(address)
        # Only the embedding step changes: chunking, checkpoints and the publish stay the same.
        # The cluster starts at the first chunk to embed; an unchanged corpus never starts it.
        a.embedder = RayEmbedder(a.embedder, address, ray_actors, ray_batch)
    try:
        report = a.index(rebuild=rebuild, progress=True)
    finally:
        if ray_address:
            a.embedder.close()
    for problem in report.problems:
        click.echo(f"warning: skipped {problem}", err=True)
    click.echo(report.summary())
    if ray_address and a.embedder.size:
        click.echo(a.embedder.summary())


@main.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print the Answer's fields as JSON.")
@click.option("--k", type=click.IntRange(1, 100), help="Passages to retrieve (default 5).")
@click.option("--generator", help="extractive (default), llamacpp or openai.")
@click.option("--since", help="Only articles dated on or after this day (YYYY-MM-DD).")
@click.option("--until", help="Only articles dated on or before this day (YYYY-MM-DD).")
@click.option("--source", multiple=True, help="Only this corpus file (repeatable; substring match).")
@click.option("--as-of", help="The day the question is asked on (YYYY-MM-DD or 'today'): later "
              "articles are not used; 'last week' or 'recently' count back from it.")
def ask(question, as_json, k, generator, since, until, source, as_of):
    """Answer QUESTION from the corpus, citing each sentence as [n].

    \b
    Examples:
      assistant ask "Where was WTDC-25 held?"
      assistant ask "Who met the Saudi ambassador?" --since 2025-01-01 --json
      assistant ask "Who met the minister this week?" --as-of 2025-02-01
    """
    from .api import default_assistant

    filters = {"since": since, "until": until, "sources": list(source) or None}
    answer = default_assistant().ask(question, generator=generator, k=k, filters=filters, as_of=as_of)
    if as_json:
        click.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(answer.text)
    if answer.citations:
        click.echo("")
    seen = set()
    for c in answer.citations:
        if c.marker in seen:
            continue
        seen.add(c.marker)
        click.echo(f"[{c.marker}] {c.title} ({c.date or 'undated'}) — {c.source}, chars {c.start}-{c.end}")
        click.echo(f"    \u201c{c.quote}\u201d")
    for note in answer.notes:
        # Diagnostics (why it abstained, LLM and verification stats) are in --json.
        if not note.startswith(("abstained", "llm:", "verify:")):
            click.echo(f"note: {note}", err=True)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def doctor(as_json):
    """Show what this install runs on: CPU, llama.cpp build, ONNX Runtime, versions.

    Paste its output into a bug report. It exits 1 when the llama.cpp build uses
    instructions this machine does not enable (the local model would crash).
    """
    from .doctor import report

    info = report()
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            if key == "versions":
                click.echo("versions: " + ", ".join(f"{k} {v}" for k, v in value.items()))
            elif key != "problems":
                click.echo(f"{key}: {value}")
        for problem in info["problems"]:
            click.echo(f"problem: {problem}", err=True)
    sys.exit(1 if info["problems"] else 0)


def _lazy(name: str, target: str) -> None:
    """Register a subcommand that lives in an optional module, imported only when used."""

    @main.command(name, context_settings={"ignore_unknown_options": True, "allow_extra_args": True,
                                          "help_option_names": []}, add_help_option=False)
    @click.pass_context
    def _proxy(ctx):
        import importlib

        module, attr = target.split(":")
        try:
            command = getattr(importlib.import_module(module), attr)
        except ImportError as exc:
            raise AssistantError(f"The '{name}' command is unavailable ({exc}).") from None
        command.main(ctx.args, prog_name=f"assistant {name}", standalone_mode=True)

    _proxy.help = f"(see: assistant {name} --help)"


_lazy("eval", "assistant.evaluation.cli:eval_command")
_lazy("bench", "assistant.bench.cli:bench_command")
_lazy("calibrate", "assistant.evaluation.calibrate:calibrate_command")


if __name__ == "__main__":
    main()
