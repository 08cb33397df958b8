"""docs/benchmarks.md and its chart: machine, versions, date, every section's table and targets."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from ..doctor import versions
from .common import Section, machine


def merge(path: Path, fresh: list[Section], order: tuple[str, ...]) -> list[Section]:
    """Sections of an earlier report (its .json) with this run's replacing theirs; saves the result."""
    kept: dict[str, Section] = {}
    if path.is_file():
        try:
            kept = {d["name"]: Section.from_dict(d) for d in json.loads(path.read_text())["sections"]}
        except (ValueError, KeyError, TypeError):
            kept = {}  # unreadable: start over
    kept.update({s.name: s for s in fresh})
    sections = [kept[name] for name in order if name in kept]
    path.write_text(json.dumps({"sections": [dataclasses.asdict(s) for s in sections]}, indent=1,
                               default=str))
    return sections


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def table(columns: list[str], rows: list[list]) -> str:
    """A GitHub markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def render(sections: list[Section], command: str, started: float, chart: str | None,
           machine_info: dict | None = None) -> str:
    """The whole report as markdown."""
    info = machine_info or machine()
    out = ["# Benchmarks", "",
           f"Written by `{command}` on {time.strftime('%Y-%m-%d %H:%M', time.localtime(started))} "
           f"in {time.time() - started:,.0f} s (parts measured by earlier runs keep their date; "
           "the figures are also in benchmarks.json). Re-run `assistant bench` to refresh them; "
           "machines differ, so compare the ratios (measured in the same run) more than the "
           "absolute times.", "",
           "## Machine", "", table(["", ""], [[k, v] for k, v in info.items()]), "",
           "## Versions", "", table(["package", "version"], [[k, v] for k, v in versions().items()]), ""]
    targets = [(s, t) for s in sections for t in s.targets]
    if targets:
        out += ["## Targets (issue 6)", "",
                table(["figure", "measured", "target", "met"],
                      [[t.label, f"{t.measured:,.3g} {t.unit}", f"{t.bound} {t.unit}",
                        "yes" if t.met else "**no**"] for _, t in targets]), ""]
    if chart:
        out += [f"![benchmark chart]({chart})", ""]
    for s in sections:
        out += [f"## {s.title}", ""]
        if s.rows:
            out += [table(s.columns, s.rows), ""]
        out += [f"- {n}" for n in s.notes] + ["", f"_Measured {s.when or 'in this run'} in "
                                                     f"{s.seconds:.0f} s._", ""]
    return "\n".join(out).rstrip() + "\n"


def chart(sections: list[Section], path: Path) -> bool:
    """Latency per stage and search time by index size, side by side; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    by_name = {s.name: s for s in sections}
    panels = [n for n in ("latency", "scale", "ingestion") if n in by_name and by_name[n].rows]
    if not panels:
        return False
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4.2), squeeze=False)
    for ax, name in zip(axes[0], panels):
        s = by_name[name]
        if name == "latency":
            stages = [r[0] for r in s.rows]
            ax.barh(stages, [r[3] for r in s.rows], color="#4c72b0",
                    label=f"{s.figures.get('chunks_large', 0):,} chunks")
            ax.barh(stages, [r[1] for r in s.rows], color="#dd8452", alpha=0.8, height=0.4,
                    label="real corpus")
            ax.invert_yaxis()
            ax.set_xlabel("p50 ms (warm)")
            ax.set_title("Query latency per stage")
            ax.legend(fontsize=8)
        elif name == "scale":
            for kind in ("flat", "hnsw", "ivfpq"):
                pts = [(int(str(r[0]).replace(",", "")), r[4]) for r in s.rows if r[1] == kind]
                if pts:
                    ax.plot(*zip(*pts), marker="o", label=kind)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("chunks")
            ax.set_ylabel("search p50 ms (k=10)")
            ax.set_title("Dense search by index size")
            ax.legend(fontsize=8)
        else:
            steps = [r for r in s.rows if r[0] in ("read + clean", "chunk (incl. model-window check)",
                                                    "embed", "FAISS build + write")]
            left = 0.0
            for label, sec, _ in steps:
                ax.barh(["pipeline"], [sec], left=left, label=label)
                left += sec
            floor = next(r[1] for r in s.rows if r[0].startswith("raw"))
            ax.barh(["raw encode"], [floor], color="#777777")
            for label, sec, _ in (r for r in s.rows if r[0].startswith("pipeline total, default")):
                ax.barh([label.replace("pipeline total, ", "")], [sec], color="#4c9a2a")
            ax.set_xlabel("seconds")
            ax.set_title(f"Ingestion: {s.figures.get('ratio_wall', 0):.3f}x (torch), "
                         f"{s.figures.get('ratio_default_wall', 0):.3f}x (default) the raw encode")
            ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
