"""Writing a run down (report.json, report.md, chart.png) and comparing it with an earlier one or with floors."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, MissingDependency
from .metrics import LOWER_IS_BETTER
from .runner import EvalResult

# Counts describe the set, not the quality; --compare shows them but never flags them.
_COUNTS = ("questions", "answerable", "unanswerable", "queries")
LABELS = {
    "hit@k": "hit@k", "recall@k": "recall@k", "mrr": "MRR", "ndcg@k": "nDCG@k",
    "answer_accuracy": "answer accuracy (answerable)", "accuracy": "accuracy (all, refusals included)",
    "citation_precision": "citation precision", "citation_recall": "citation recall",
    "abstention_precision": "abstention precision", "abstention_recall": "abstention recall",
    "false_abstention_rate": "false-abstention rate",
}


def write_reports(result: EvalResult, out: Path) -> list[Path]:
    """report.json, report.md and chart.png in `out`; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "report.json", out / "report.md", out / "chart.png"]
    paths[0].write_text(json.dumps(result.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
    paths[1].write_text(markdown(result), encoding="utf-8")
    chart(result, paths[2])
    return paths


def _label(name: str, k: int) -> str:
    return LABELS.get(name, name).replace("@k", f"@{k}")


def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def metrics_table(result: EvalResult) -> str:
    """The headline metrics as a markdown table."""
    k = result.meta.get("k", "k")
    splits = getattr(result, "by_split", None) or {}
    if len(splits) < 2:  # one split, or a file without splits: one column says it all
        rows = [f"| {_label(n, k)} | {_fmt(v)} |" for n, v in result.metrics.items() if n not in _COUNTS]
        return "\n".join(["| metric | value |", "|---|---|", *rows])
    # Tune on dev, report test: both beside the whole set, so no figure is read without the other.
    names = sorted(splits)
    rows = [f"| {_label(n, k)} | {_fmt(v)} | " + " | ".join(_fmt(splits[s].get(n)) for s in names) + " |"
            for n, v in result.metrics.items() if n not in _COUNTS]
    head = "| metric | all | " + " | ".join(names) + " |"
    return "\n".join([head, "|---|---|" + "---|" * len(names), *rows])


def tier_table(result: EvalResult) -> str:
    """Retrieval and accuracy per question tier, as a markdown table."""
    k = result.meta.get("k", "k")
    rows = [f"| {t} | " + " | ".join(_fmt(row[c]) for c in ("questions", "hit@1", "hit@k", "mrr", "accuracy"))
            + " |" for t, row in result.by_tier.items()]
    return "\n".join([f"| tier | questions | hit@1 | hit@{k} | MRR | accuracy |", "|---|---|---|---|---|---|",
                      *rows])


def markdown(result: EvalResult) -> str:
    """The human-readable report."""
    meta, k = result.meta, result.meta.get("k", "k")
    counts = ", ".join(f"{result.metrics[c]} {c}" for c in _COUNTS if c in result.metrics)
    lines = ["# Evaluation report", "",
             f"{counts}; generator `{meta.get('generator', '-')}`, k={k}, corpus `{meta.get('corpus')}`, "
             f"finished {meta.get('finished')} in {meta.get('seconds')} s.", "",
             "## Metrics", "", metrics_table(result), ""]
    if result.latency:
        lines += ["## Latency (ms)", "", "| stage | p50 | p95 |", "|---|---|---|"]
        lines += [f"| {s} | {v['p50_ms']} | {v['p95_ms']} |" for s, v in result.latency.items()]
        lines.append("")
    if result.by_type:
        lines += ["## By question type", "",
                  f"| type | questions | accuracy | abstained | hit@{k} | MRR | citation P | citation R |",
                  "|---|---|---|---|---|---|---|---|"]
        for t, row in result.by_type.items():
            cells = [row[c] for c in ("questions", "accuracy", "abstained", "hit@k", "mrr",
                                      "citation_precision", "citation_recall")]
            lines.append(f"| {t} | " + " | ".join(_fmt(c) for c in cells) + " |")
        lines.append("")
    if result.by_tier:
        lines += ["## By tier", "", tier_table(result), ""]
    if result.by_source:
        lines += ["## Retrieval by source article", "", f"| source | questions | retrieved in top {k} |",
                  "|---|---|---|"]
        lines += [f"| {s} | {v['questions']} | {_fmt(v['retrieved'])} |" for s, v in result.by_source.items()]
        lines.append("")
    if result.citation_errors:
        lines += ["## Wrong citations", ""]
        lines += [f"- {why}: {n}" for why, n in sorted(result.citation_errors.items())]
        lines.append("")
    if result.verify:
        lines += ["## Verification repairs (LLM answers)", ""]
        lines += [f"- {what}: {n}" for what, n in sorted(result.verify.items())]
        lines.append("")
    lines += [f"## Failures ({len(result.failures)})", ""]
    for f in result.failures:
        lines.append(f"- **{f['id']}** ({f['type']}; {f['kind']}): {f['question']}")
        if f.get("expected"):
            lines.append(f"  - expected: {' | '.join(f['expected'])}")
        for turn in f.get("history", []):  # a follow-up's conversation, as it was fed back
            lines.append(f"  - {turn['role']} said: {' '.join(turn['content'].split())}")
        lines.append(f"  - answer: {' '.join(str(f['answer']).split()) or '(empty)'}")
    return "\n".join(lines) + "\n"


def chart_available() -> None:
    """MissingDependency now, rather than after a long run, when matplotlib is not installed."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingDependency("matplotlib", "eval") from None


def chart(result: EvalResult, path: Path) -> None:
    """A PNG with the headline metrics, accuracy by type and latency by stage."""
    chart_available()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    k = result.meta.get("k", "k")
    panels = [p for p in ("metrics", "types", "latency")
              if p == "metrics" or (p == "types" and result.by_type) or (p == "latency" and result.latency)]
    # Figure + the Agg canvas directly: no pyplot state, no display needed.
    fig = Figure(figsize=(5.5 * len(panels), 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, panel in zip(axes, panels):
        if panel == "metrics":
            items = [(n, v) for n, v in result.metrics.items() if n not in _COUNTS and v is not None]
            bars = ax.barh([_label(n, k) for n, _ in items][::-1], [v for _, v in items][::-1],
                           color="#4c72b0")
            ax.bar_label(bars, fmt="%.2f", padding=2, fontsize=8)
            ax.set_xlim(0, 1.12)  # room for the value labels
            ax.set_title("Metrics")
        elif panel == "types":
            types = list(result.by_type)
            ax.bar(types, [result.by_type[t]["accuracy"] or 0 for t in types], color="#55a868")
            ax.set_ylim(0, 1)
            ax.set_title("Accuracy by question type")
            ax.tick_params(axis="x", labelrotation=35)
        else:
            stages = list(result.latency)
            xs = range(len(stages))
            ax.bar([x - 0.2 for x in xs], [result.latency[s]["p50_ms"] for s in stages], 0.4, label="p50")
            ax.bar([x + 0.2 for x in xs], [result.latency[s]["p95_ms"] for s in stages], 0.4, label="p95")
            ax.set_xticks(list(xs), stages)
            ax.set_ylabel("ms")
            ax.set_title("Latency by stage")
            ax.legend()
    fig.suptitle(f"{result.meta.get('generator', 'retrieval')}, k={k}, {result.meta.get('questions', '')} questions")
    fig.savefig(path, dpi=110)


@dataclass
class Delta:
    """One metric in two runs."""

    name: str
    old: float | None
    new: float | None
    regression: bool = False

    @property
    def change(self) -> float | None:
        return None if self.old is None or self.new is None else self.new - self.old


def load_report(path: str | Path) -> dict:
    """A report.json written by an earlier run."""
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / "report.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"Cannot read report {path} ({exc}). Pass the report.json of an earlier "
                          "`assistant eval` run to --compare.") from None
    if not isinstance(data, dict) or "metrics" not in data:
        raise ConfigError(f"{path} is not an evaluation report (no 'metrics'); pass a report.json.")
    return data


def compare(old: dict, new: dict, tolerance: float = 0.02) -> list[Delta]:
    """Each metric of two reports; a regression is a move for the worse beyond `tolerance`."""
    deltas = []
    for name in dict.fromkeys([*new["metrics"], *old["metrics"]]):
        a, b = old["metrics"].get(name), new["metrics"].get(name)
        d = Delta(name, a, b)
        if name not in _COUNTS and a is not None and b is not None:
            worse = b - a if name in LOWER_IS_BETTER else a - b
            d.regression = worse > tolerance
        deltas.append(d)
    # Latency depends on the machine, so it is shown for information and never flagged.
    for stage in dict.fromkeys([*new.get("latency", {}), *old.get("latency", {})]):
        for q in ("p50_ms", "p95_ms"):
            a = old.get("latency", {}).get(stage, {}).get(q)
            b = new.get("latency", {}).get(stage, {}).get(q)
            deltas.append(Delta(f"latency.{stage}.{q}", a, b))
    return deltas


def format_deltas(deltas: list[Delta], tolerance: float) -> str:
    """One line per metric: old -> new (change), REGRESSION where flagged."""
    lines = [f"Compared with the earlier run (regression = worse by more than {tolerance:g}):"]
    for d in deltas:
        digits = 1 if d.name.startswith("latency.") else 3  # ms vs rates
        digits = 0 if isinstance(d.old, int) and isinstance(d.new, int) else digits  # counts
        old, new = (("–" if v is None else f"{v:.{digits}f}") for v in (d.old, d.new))
        change = "" if d.change is None else f" ({d.change:+.{digits}f})"
        flag = "  REGRESSION" if d.regression else ""
        lines.append(f"  {d.name:<28} {old:>9} -> {new:<9}{change}{flag}")
    return "\n".join(lines)


def check_floors(metrics: dict[str, float], floors: dict) -> list[str]:
    """Every metric below its floor ("min") or above its ceiling ("max"), as readable lines."""
    problems = []
    for name, floor in floors.get("min", {}).items():
        value = metrics.get(name)
        if value is None or value < floor:
            problems.append(f"{name} = {_fmt(value)} is below its floor {floor}")
    for name, ceiling in floors.get("max", {}).items():
        value = metrics.get(name)
        if value is None or value > ceiling:
            problems.append(f"{name} = {_fmt(value)} is above its ceiling {ceiling}")
    return problems


def load_floors(path: str | Path) -> dict:
    """eval/floors.json: {"min": {metric: floor}, "max": {metric: ceiling}}."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"Cannot read floors {path} ({exc}); see eval/floors.json for the format.") from None
