"""The report's matplotlib figures (PNG files): the preference models' fronts of compared runs, and a run's scored
pool with a preference's stage-1 selection and preference ray. Every objective is maximised.
"""

from __future__ import annotations

import os
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from paretohqd.data.scoring import load_pool
from paretohqd.pareto import non_dominated
from paretohqd.runs import PREFERENCES_FILE, Run, read_preferences

if TYPE_CHECKING:
    from paretohqd.report import RunResults

# Figures: one panel per pair of objectives, PANEL inches each at DPI dots per inch, at most three panels a row.
PANEL = (6.0, 4.5)
DPI = 100
MARKERS = ("o", "s", "^", "D", "v", "P", "*", "h")
LABEL_ALL = 40


def plot_fronts(runs: list[RunResults], path: str | os.PathLike) -> Path:
    """Front plot: every run's preference models (mean ± stderr) in its own colour and marker, its non-dominated
    points connected, each point labelled by its preference, the base model in grey; one panel per pair of
    objectives (a single panel for two)."""
    plt = _pyplot()
    objectives = runs[0].objectives
    fig, panels = _panels(plt, objectives)
    colours = plt.get_cmap("tab10").colors
    # Past LABEL_ALL points a figure, only each run's non-dominated points carry their preference label.
    label_all = sum(len(result.points) for result in runs) <= LABEL_ALL
    for index, result in enumerate(runs):
        colour, marker = colours[index % len(colours)], MARKERS[index % len(MARKERS)]
        means = result.means()
        errors = np.array([p.stderr for p in result.points], dtype=float)
        for (i, j), ax in panels:
            ax.errorbar(
                means[:, i],
                means[:, j],
                xerr=errors[:, i],
                yerr=errors[:, j],
                fmt=marker,
                color=colour,
                ecolor=colour,
                elinewidth=0.8,
                capsize=2,
                alpha=0.9,
                label=f"{result.name} ({result.config.method})",
            )
            on_front = non_dominated(means[:, [i, j]])
            front = means[:, [i, j]][on_front]
            front = front[np.argsort(front[:, 0])]
            ax.plot(front[:, 0], front[:, 1], "-", color=colour, linewidth=1.2)
            for point, (x, y), labelled in zip(result.points, means[:, [i, j]], on_front | label_all, strict=True):
                if not labelled:
                    continue
                ax.annotate(
                    preference_label(point.preference),
                    (x, y),
                    xytext=(4, 4),
                    textcoords="offset points",
                    fontsize=7,
                    color=colour,
                )
            if result.base is not None:
                ax.errorbar(
                    result.base.mean[i],
                    result.base.mean[j],
                    xerr=result.base.stderr[i],
                    yerr=result.base.stderr[j],
                    fmt=marker,
                    color="grey",
                    markeredgecolor=colour,
                    ecolor="grey",
                    elinewidth=0.8,
                    capsize=2,
                    markersize=9,
                    label="base model" if len(runs) == 1 else f"base model ({result.name})",
                )
    panels[0][1].legend(fontsize=8)
    fig.suptitle(f"Preference models on held-out prompts ({runs[0].config.task})", fontsize=11)
    return _save(plt, fig, path)


def plot_pool(result: RunResults, path: str | os.PathLike, preference: str | None = None) -> Path:
    """The run's scored pool as a faint cloud with its first Pareto front; with `preference` (a label such as
    "pref-02"), that preference's stage-1 selection highlighted and its preference ray drawn (from the ideal point
    through the compromise point, with the select-1 bounds) when the run recorded them."""
    plt = _pyplot()
    run, objectives = result.run, list(result.objectives)
    pool = load_pool(run.root / run.result("pool")["path"]).rewards
    front = pool[non_dominated(pool)]
    fig, panels = _panels(plt, result.objectives)
    for (i, j), ax in panels:
        ax.scatter(
            pool[:, i],
            pool[:, j],
            s=6,
            color="grey",
            alpha=0.25,
            linewidths=0,
            rasterized=True,
            label=f"scored pool ({len(pool)} samples)",
        )
        ax.scatter(
            front[:, i],
            front[:, j],
            s=14,
            facecolors="none",
            edgecolors="black",
            linewidths=0.7,
            label=f"first Pareto front ({len(front)})",
        )
        ax.autoscale(False)
    if preference is not None:
        selected = pd.read_json(selection_path(result, preference), lines=True)[objectives].to_numpy(dtype=float)
        weights = _preference_weights(run, preference)
        ray = _preference_ray(run, weights)
        for (i, j), ax in panels:
            ax.scatter(
                selected[:, i],
                selected[:, j],
                s=22,
                color="tab:red",
                label=(f"stage-1 selection of {preference} ({preference_label(weights)}, {len(selected)} samples)"),
            )
            if ray is not None:
                ax.plot(ray[:, i], ray[:, j], "--", color="tab:red", linewidth=1, label="preference ray")
    panels[0][1].legend(fontsize=8)
    fig.suptitle(f"Scored pool of run {result.name}", fontsize=11)
    return _save(plt, fig, path)


def preference_label(weights) -> str:
    """A preference in a few characters: "w=0.25/0.75"; "-" for none (the base model)."""
    return "-" if weights is None else "w=" + "/".join(f"{w:.2f}" for w in weights)


def selection_path(result: RunResults, label: str) -> Path:
    """The stage-1 selection file of preference `label`; an error listing the known labels when it is missing."""
    path = result.run.root / "selections" / "stage1" / f"{label}.jsonl"
    if not path.is_file() or not result.run.done("pool"):
        known = sorted(p.stem for p in path.parent.glob("*.jsonl"))
        raise FileNotFoundError(
            f"run {result.name!r} ({result.run.root}) has no scored pool with a stage-1 selection for {label!r}; "
            f"selections it has: {', '.join(known) or 'none'}"
        )
    return path


def _preference_weights(run: Run, label: str) -> list[float]:
    weights = read_preferences(run.root).get(label)
    if weights is None:
        raise ValueError(f"{run.root / PREFERENCES_FILE} has no preference {label!r}")
    return weights


def _preference_ray(run: Run, weights) -> np.ndarray | None:
    """Two raw-space points of the preference ray: the ideal point and a bit beyond the compromise point
    (DESIGN.md §2.3), with the select-1 bounds; None when the run recorded no bounds."""
    bounds = run.result("select-1").get("bounds") if run.done("select-1") else None
    if bounds is None:
        return None
    lower, upper = np.asarray(bounds["lower"], dtype=float), np.asarray(bounds["upper"], dtype=float)
    compromise = lower + np.asarray(weights, dtype=float) * (upper - lower)
    return np.vstack([upper, upper + 1.5 * (compromise - upper)])


def _pyplot():
    """matplotlib's pyplot on the Agg backend (files only, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _panels(plt, objectives):
    """A figure with one panel per pair of objectives; returns (figure, [((i, j), axes), ...])."""
    pairs = list(combinations(range(len(objectives)), 2))
    cols = min(3, len(pairs))
    rows = -(-len(pairs) // cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(PANEL[0] * cols, PANEL[1] * rows), dpi=DPI, squeeze=False, layout="constrained"
    )
    panels = list(zip(pairs, axes.flat[: len(pairs)], strict=True))
    for (i, j), ax in panels:
        ax.set_xlabel(f"{objectives[i]} (higher is better)")
        ax.set_ylabel(f"{objectives[j]} (higher is better)")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(pairs) :]:
        ax.set_visible(False)
    return fig, panels


def _save(plt, fig, path) -> Path:
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return Path(path)
