"""`assistant calibrate`: refit the refusal model (assistant/refusal.json) on the dev splits."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click
import numpy as np

from ..abstain import CALIBRATION
from ..errors import AssistantError
from .questions import load_questions

FEATURES = ("support", "margin", "dense", "type_match", "coverage", "agreement", "written",
            "written_support", "written_margin", "written_dense", "written_coverage")


def collect(assistant, questions) -> tuple[list[dict], list[bool]]:
    """The extractive pass's features and the truth (answerable) for each question."""
    gen = assistant.generator("extractive")
    rows, labels = [], []
    for q in questions:
        history: list[dict] = []
        for prior in q.history:  # a follow-up is asked after its real earlier turns
            earlier = assistant.ask(prior, history=history or None, generator="extractive")
            history += [{"role": "user", "content": prior},
                        {"role": "assistant", "content": earlier.text}]
        turn = assistant.prepare(q.question, history or None, "extractive")
        if turn.early is not None:  # refused by rule (nothing retrieved, a name the corpus lacks)
            continue
        rows.append(gen.assess(turn.query, turn.passages).features)
        labels.append(q.answerable)
    return rows, labels


def fit(x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float = 0.3,
        steps: int = 50) -> tuple[np.ndarray, float]:
    """Weighted, L2-regularised logistic regression by Newton's method, on standardised columns."""
    mean, std = x.mean(0), x.std(0) + 1e-9
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], l2)
    reg[-1] = 0.0  # the intercept is not shrunk
    for _ in range(steps):
        p = 1 / (1 + np.exp(-z @ w))
        grad = z.T @ (weight * (p - y)) + reg * w
        hess = (z * (weight * p * (1 - p))[:, None]).T @ z + np.diag(reg)
        w -= np.linalg.solve(hess, grad)
    # Back to raw feature units, so the shipped model needs no scaler.
    weights = w[:-1] / std
    return weights, float(w[-1] - weights @ mean)


def out_of_fold(x: np.ndarray, y: np.ndarray, weight: np.ndarray, folds: int = 5,
                seed: int = 0) -> np.ndarray:
    """Each row's probability from a model fitted without it (k folds, a seeded shuffle)."""
    order = np.random.default_rng(seed).permutation(len(x))
    p = np.zeros(len(x))
    for part in np.array_split(order, folds):
        rest = np.setdiff1d(order, part)
        w, b = fit(x[rest], y[rest].astype(float), weight[rest])
        p[part] = 1 / (1 + np.exp(-(x[part] @ w + b)))
    return p


def operating_point(p: np.ndarray, y: np.ndarray, groups: np.ndarray, max_false: float) -> float:
    """The highest threshold that refuses at most max_false of each set's answerable questions."""
    best = 0.0
    for t in np.unique(np.concatenate([[0.0], p])):
        ok = all(np.mean(p[(groups == g) & y] < t) <= max_false for g in np.unique(groups))
        if ok:
            best = max(best, float(t))
    # Half-way to the next score below, so a probability equal to a dev score is not on the edge.
    below = p[p < best]
    return (best + below.max()) / 2 if below.size else best


def query_point(x: np.ndarray, y: np.ndarray, weight: np.ndarray, query: np.ndarray,
                max_false: float, shuffles: int = 20) -> float:
    """The web-query rows' own operating point: its median over shuffles of the folds."""
    # One shuffle's point swung from 0.12 to 0.25 on ClapNQ dev (three false refusals decide it).
    points = [operating_point(p[query], y[query], np.zeros(query.sum()), max_false)
              for p in (out_of_fold(x, y, weight, seed=s) for s in range(shuffles))]
    return float(np.median(points))


def rates(p: np.ndarray, y: np.ndarray, t) -> dict[str, float]:
    refused = p < t
    return {"refusal_recall": round(float(refused[~y].mean()), 3),
            "false_refusals": round(float(refused[y].mean()), 3)}


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--max-false", type=click.FloatRange(0, 1), default=0.05, show_default=True,
              help="Most false refusals allowed on each set's dev split.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=CALIBRATION,
              show_default="assistant/refusal.json")
def calibrate_command(max_false, out):
    """Refit when to refuse: a logistic model over the extractive pass's features.

    Fitted on the dev split of every set in eval/ (the default corpus and ClapNQ); the test
    splits are never read. Then report them with: assistant eval --split test
    """
    from .cli import SETS, _assistant

    try:
        rows, labels, groups = [], [], []
        for name, (questions, corpus) in SETS.items():
            a = _assistant(corpus, None)
            a.index(progress=False)
            r, lab = collect(a, load_questions(questions, split="dev"))
            rows += r
            labels += lab
            groups += [name] * len(r)
    except AssistantError as exc:
        raise click.ClickException(str(exc)) from None
    x = np.array([[row[f] for f in FEATURES] for row in rows], float)
    y, g = np.array(labels, bool), np.array(groups)
    # Each set and each class weighs the same: 12 unanswerable news questions count as much as
    # 78 unanswerable ClapNQ ones, so neither set's habits decide for the other.
    sw = np.array([1.0 / np.sum((g == gi) & (y == yi)) for gi, yi in zip(g, y)])
    sw *= len(sw) / sw.sum()
    weights, bias = fit(x, y.astype(float), sw)
    # The operating point is read off out-of-fold probabilities: in-sample ones flatter the
    # model, and a threshold set on them refuses more answerable questions than it promised.
    p = out_of_fold(x, y, sw)
    t = operating_point(p, y, g, max_false)
    # Written questions keep the joint point: above it, default dev questions answered right
    # were refused. Web queries may go higher, as far as their own false refusals allow.
    query = x[:, FEATURES.index("written")] == 0
    tq = max(t, query_point(x, y, sw, query, max_false))
    cut = np.where(query, tq, t)
    dev = {name: rates(p[g == name], y[g == name], cut[g == name]) for name in SETS}
    model = {"about": "When to refuse: P(the passages answer) from the extractive pass's features; "
                      "refuse below threshold (query_threshold for web queries: no capital, no "
                      "question mark). Refit with `assistant calibrate` (dev splits only).",
             "features": list(FEATURES), "weights": [round(float(w), 5) for w in weights],
             "bias": round(bias, 5), "threshold": round(t, 4), "query_threshold": round(tq, 4),
             "max_false_refusals": max_false,
             "dev": dev, "questions": {name: int((g == name).sum()) for name in SETS},
             "fitted": time.strftime("%Y-%m-%d")}
    out.write_text(json.dumps(model, indent=1) + "\n", encoding="utf-8")
    click.echo(json.dumps({"threshold": t, "query_threshold": tq, "dev": dev}, indent=1))
    click.echo(f"Wrote {out}")
