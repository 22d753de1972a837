"""Reports of finished runs: load what the runs saved, compare them (metrics under one normalisation), and write the
report (markdown, self-contained HTML, metrics.json and the figures of `paretohqd.plots`), one method per run. Only
what the runs saved is read (eval/points.json and eval/<label>.parquet, unit markers, the scored pool, stage-1
selections): nothing is generated or scored again.

Every objective is maximised. The normalised hypervolume (HV) of a run's preference models is computed after min-max
normalising every compared point together (all runs, base models included), with the reference point at the origin
(the per-objective minimum); the raw hypervolume uses the per-objective minimum over every compared point as its
reference unless one is given. The report always states the bounds and both reference points.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np

from paretohqd.config import RunConfig, dump_config
from paretohqd.evaluate import POINTS_FILE, Point, load_eval
from paretohqd.files import write_text_atomic
from paretohqd.pareto import Bounds, FrontQuality, front_quality, hypervolume, joint_bounds, joint_reference
from paretohqd.plots import plot_fronts, plot_pool, preference_label, selection_path
from paretohqd.render import Block, Code, Figure, Table, to_html, to_markdown
from paretohqd.runs import Run

COMPUTE_KEYS = ("wall_seconds", "cpu_seconds", "gpu_seconds", "steps", "samples_seen", "generations")
COLLAPSED_EXAMPLES = 3
TEXT_LIMIT = 240


@dataclass(frozen=True)
class RunResults:
    """What one run saved for the report. name: its legend name (the config's name, made unique among the
    compared runs); points: the preference models' evaluations, in config order; base: the base model's, or None."""

    name: str
    run: Run
    objectives: tuple[str, ...]
    points: tuple[Point, ...]
    base: Point | None

    @property
    def config(self) -> RunConfig:
        return self.run.config

    def means(self) -> np.ndarray:
        """Mean rewards of the preference models, (K, M)."""
        return np.array([p.mean for p in self.points], dtype=float)

    def all_means(self) -> np.ndarray:
        """Mean rewards of every evaluated model, base included, (K or K + 1, M)."""
        return np.array([p.mean for p in (*self.points, *([self.base] if self.base else []))], dtype=float)


@dataclass(frozen=True)
class MethodMetrics:
    """One run's numbers: front quality in jointly normalised space, raw hypervolume w.r.t. the shared raw
    reference, mean collapse rate over its preference models, and compute (training: every stage but evaluation,
    from `Run.compute`; eval_seconds: wall seconds of the evaluation)."""

    quality: FrontQuality
    raw_hypervolume: float
    collapse_rate: float
    training: dict
    eval_seconds: float


@dataclass(frozen=True)
class Comparison:
    """Compared runs with the normalisation and reference points their metrics were computed with.
    reference: raw space (M,); given: whether the user chose it (else the per-objective minimum)."""

    runs: tuple[RunResults, ...]
    bounds: Bounds
    reference: np.ndarray
    given: bool
    metrics: tuple[MethodMetrics, ...]

    @property
    def objectives(self) -> tuple[str, ...]:
        return self.runs[0].objectives

    @property
    def task(self) -> str:
        return self.runs[0].config.task

    def reference_source(self) -> str:
        return "given" if self.given else "per-objective minimum over every compared point"

    def to_dict(self) -> dict:
        """The machine-readable numbers (metrics.json)."""
        return {
            "task": self.task,
            "objectives": list(self.objectives),
            "bounds": self.bounds.to_dict(),
            "normalised_reference": [0.0] * len(self.objectives),
            "reference": self.reference.tolist(),
            "reference_source": self.reference_source(),
            "methods": [_method_dict(r, m) for r, m in zip(self.runs, self.metrics, strict=True)],
        }


@dataclass(frozen=True)
class ReportFiles:
    """Where a report was written; pool is None when the first run has no scored pool."""

    folder: Path
    markdown: Path
    html: Path
    metrics: Path
    front: Path
    pool: Path | None


def run_objectives(config: RunConfig) -> tuple[str, ...]:
    """A run's objective names: the config's, or its task's defaults."""
    from paretohqd.data import get_task

    return tuple(config.objectives) if config.objectives else get_task(config.task).objectives


def load_run(path: str | os.PathLike) -> RunResults:
    """A run folder's saved evaluation; an error naming the run when it has not been evaluated yet."""
    run = Run.open(path)
    points_file = run.root / "eval" / POINTS_FILE
    if not points_file.is_file():
        raise FileNotFoundError(
            f"run {run.config.name!r} ({run.root}) has not been evaluated ({points_file} is missing): "
            f"run `paretohqd eval {run.root}` first"
        )
    objectives = run_objectives(run.config)
    # Evaluation may save more per model than a Point holds: keep its fields, ignore the rest.
    keep = {f.name for f in fields(Point)}
    points = [Point(**{k: v for k, v in p.items() if k in keep}) for p in json.loads(points_file.read_text())]
    wrong = [p.label for p in points if len(p.mean) != len(objectives)]
    if wrong:
        raise ValueError(
            f"run {run.config.name!r} ({run.root}): the points of {', '.join(wrong)} do not have one value per "
            f"objective ({', '.join(objectives)})"
        )
    models = tuple(p for p in points if p.preference is not None)
    if not models:
        raise ValueError(f"run {run.config.name!r} ({run.root}) has no evaluated preference model in {points_file}")
    base = next((p for p in points if p.preference is None), None)
    return RunResults(run.config.name, run, objectives, models, base)


def load_runs(paths) -> list[RunResults]:
    """Several runs to compare: the same task and objectives (in the same order) are required; runs of the same
    name get "#2", "#3", ... in the order given."""
    paths = list(paths)
    if not paths:
        raise ValueError("no run folder given")
    runs = [load_run(p) for p in paths]
    first = runs[0]
    for other in runs[1:]:
        if (other.config.task, other.objectives) != (first.config.task, first.objectives):
            raise ValueError(
                f"runs of different tasks or objectives cannot be compared: {_describe(first)} but {_describe(other)}"
            )
    seen: dict[str, int] = {}
    unique = []
    for result in runs:
        seen[result.name] = seen.get(result.name, 0) + 1
        unique.append(result if seen[result.name] == 1 else replace(result, name=f"{result.name} #{seen[result.name]}"))
    return unique


def compare_runs(runs: list[RunResults], reference=None) -> Comparison:
    """Metrics of every run under one joint normalisation (bounds over every compared point, base models
    included) and one raw reference point (`reference`, (M,), or the per-objective minimum of those points)."""
    objectives = runs[0].objectives
    if reference is not None and np.size(reference) != len(objectives):
        raise ValueError(
            f"the reference point has {np.size(reference)} value(s) but the runs have {len(objectives)} objectives "
            f"({', '.join(objectives)}): give one value per objective, in that order"
        )
    point_sets = {r.name: r.all_means() for r in runs}
    bounds = joint_bounds(point_sets)
    ref = joint_reference(point_sets, reference)
    metrics = []
    for result in runs:
        compute = result.run.compute()
        metrics.append(
            MethodMetrics(
                quality=front_quality(result.means(), bounds),
                raw_hypervolume=hypervolume(result.means(), ref),
                collapse_rate=float(np.mean([p.collapse_rate for p in result.points])),
                training={key: compute["training"][key] for key in COMPUTE_KEYS},
                eval_seconds=float(compute["stages"].get("eval", {}).get("wall_seconds", 0.0)),
            )
        )
    return Comparison(tuple(runs), bounds, ref, reference is not None, tuple(metrics))


def format_comparison(comparison: Comparison) -> str:
    """The comparison as plain text: one row per run, then the normalisation and reference points used."""
    header = ["run", "method", "HV", "raw HV", "non-dominated", "collapse", "train wall s", "train CPU s"]
    rows = [
        [
            result.name,
            result.config.method,
            f"{m.quality.hypervolume:.4f}",
            f"{m.raw_hypervolume:.4g}",
            f"{m.quality.n_non_dominated}/{len(result.points)}",
            f"{m.collapse_rate:.1%}",
            f"{m.training['wall_seconds']:.1f}",
            f"{m.training['cpu_seconds']:.1f}",
        ]
        for result, m in zip(comparison.runs, comparison.metrics, strict=True)
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in [header, *rows]
    ]
    return "\n".join(
        [
            f"Task {comparison.task}; objectives (maximised): {', '.join(comparison.objectives)}",
            *lines,
            *_normalisation_lines(comparison),
        ]
    )


def _normalisation_lines(comparison: Comparison) -> list[str]:
    """What the hypervolumes were computed with, in words."""
    return [
        "HV: preference models' points min-max normalised over every compared point (base models included) with "
        f"lower {_vector(comparison.bounds.lower)} and upper {_vector(comparison.bounds.upper)}; "
        "reference point at the origin of the normalised space (the per-objective minimum).",
        f"Raw HV: reference point {_vector(comparison.reference)} ({comparison.reference_source()}).",
    ]


def write_report(
    comparison: Comparison, out: str | os.PathLike | None = None, pool_preference: str | None = None
) -> ReportFiles:
    """Write report.md, report.html (self-contained), metrics.json, front.png and, when the first run has a
    scored pool, pool.png into `out` (default: <run>/report for a single run; required for several runs)."""
    first = comparison.runs[0]
    if out is None and len(comparison.runs) > 1:
        raise ValueError("a report of several runs needs an output folder (--out DIR)")
    if pool_preference is not None:
        selection_path(first, pool_preference)
    folder = Path(out) if out is not None else first.run.root / "report"
    folder.mkdir(parents=True, exist_ok=True)
    front = plot_fronts(list(comparison.runs), folder / "front.png")
    pool = None
    if first.run.done("pool"):
        pool = plot_pool(first, folder / "pool.png", pool_preference)
    title, sections = report_sections(comparison, front.name, pool.name if pool else None, pool_preference)
    markdown = write_text_atomic(folder / "report.md", to_markdown(title, sections))
    page = write_text_atomic(folder / "report.html", to_html(title, sections, folder))
    metrics = write_text_atomic(folder / "metrics.json", json.dumps(comparison.to_dict(), indent=1))
    return ReportFiles(folder, markdown, page, metrics, front, pool)


# --- The report's content, independent of its format ---------------------------------------------------------------

FRONT_CAPTION = (
    "Mean reward per objective of every preference model (± one standard error) on the held-out prompts, "
    "non-dominated models connected; the base model in grey."
)
METRICS_NOTE = (
    "non-dominated: preference models no other model of the same run dominates; max gap: the largest distance "
    "between neighbouring non-dominated models (normalised space, two objectives only); coverage: the extent of the "
    "non-dominated models per objective (normalised space, 1 = the whole compared range); collapse rate: the mean "
    "over the preference models of the share of collapsed responses (fewer than 3 words, or a word 3-gram repeated "
    "3 or more times)."
)
COMPUTE_NOTE = "Training: every stage of the run but evaluation, summed from the run's unit markers."


def report_sections(
    comparison: Comparison, front: str, pool: str | None, pool_preference: str | None
) -> tuple[str, list[tuple[str, list[Block]]]]:
    """The report as a title and (heading, blocks) sections; a str block is a paragraph."""
    runs = comparison.runs
    title = f"Report: {runs[0].name}" if len(runs) == 1 else "Comparison: " + " vs ".join(r.name for r in runs)
    overview = [
        f"Task {comparison.task}; objectives (all maximised): {', '.join(comparison.objectives)}.",
        Table(
            ["run", "method", "folder", "preference models", "eval prompts"],
            [[r.name, r.config.method, str(r.run.root), str(len(r.points)), str(r.points[0].n)] for r in runs],
            id="runs",
        ),
    ]
    sections = [
        ("Runs", overview),
        ("Front", [Figure(front, FRONT_CAPTION)]),
        (
            "Metrics",
            [
                *_normalisation_lines(comparison),
                METRICS_NOTE,
                metrics_table(comparison),
                normalisation_table(comparison),
            ],
        ),
        ("Compute", [COMPUTE_NOTE, compute_table(comparison)]),
        ("Points", [block for r in runs for block in (f"{r.name} ({r.config.method}):", points_table(r))]),
    ]
    if pool is not None:
        what = "" if pool_preference is None else f", and the stage-1 selection of {pool_preference}"
        sections.append(("Pool", [Figure(pool, f"The scored pool of {runs[0].name}, its first Pareto front{what}.")]))
    sections.append(("Collapsed examples", collapsed_examples(runs)))
    sections.append(("Configurations", [Code(f"{r.name}: config.yaml", dump_config(r.config)) for r in runs]))
    sections.append(("Versions", [versions_table(runs)]))
    return title, sections


def metrics_table(comparison: Comparison) -> Table:
    """One row per run: normalised and raw HV, non-dominated models, max gap (2 objectives), coverage, collapse."""
    rows = []
    for result, m in zip(comparison.runs, comparison.metrics, strict=True):
        q = m.quality
        rows.append(
            [
                result.name,
                result.config.method,
                f"{q.hypervolume:.4f}",
                f"{m.raw_hypervolume:.4g}",
                f"{q.n_non_dominated}/{len(result.points)}",
                "-" if q.max_gap is None else f"{q.max_gap:.4f}",
                "/".join(f"{c:.2f}" for c in q.coverage),
                f"{m.collapse_rate:.1%}",
            ]
        )
    header = [
        "run",
        "method",
        "HV (normalised)",
        "raw HV",
        "non-dominated",
        "max gap",
        "coverage (" + "/".join(comparison.objectives) + ")",
        "collapse rate",
    ]
    return Table(header, rows, id="metrics")


def normalisation_table(comparison: Comparison) -> Table:
    """Per objective: the joint normalisation bounds and the raw reference point."""
    rows = [
        [name, f"{lo:.6g}", f"{hi:.6g}", f"{ref:.6g}"]
        for name, lo, hi, ref in zip(
            comparison.objectives, comparison.bounds.lower, comparison.bounds.upper, comparison.reference, strict=True
        )
    ]
    return Table(["objective", "lower (z = 0)", "upper (z = 1)", "raw reference"], rows, id="normalisation")


def compute_table(comparison: Comparison) -> Table:
    """One row per run: training wall/CPU/GPU seconds, steps, samples seen, generations, and evaluation time."""
    rows = []
    for result, m in zip(comparison.runs, comparison.metrics, strict=True):
        t = m.training
        rows.append(
            [
                result.name,
                result.config.method,
                f"{t['wall_seconds']:.1f}",
                f"{t['cpu_seconds']:.1f}",
                f"{t['gpu_seconds']:.1f}",
                str(t["steps"]),
                str(t["samples_seen"]),
                str(t["generations"]),
                f"{m.eval_seconds:.1f}",
            ]
        )
    header = ["run", "method", "wall s", "CPU s", "GPU s", "steps", "samples seen", "generations", "eval wall s"]
    return Table(header, rows, id="compute")


def points_table(result: RunResults) -> Table:
    """One row per evaluated model of a run (base first): mean ± stderr per objective, collapse rate, prompts."""
    rows = [
        [
            p.label,
            preference_label(p.preference),
            *(f"{m:.4f} ± {s:.4f}" for m, s in zip(p.mean, p.stderr, strict=True)),
            f"{p.collapse_rate:.1%}",
            str(p.n),
        ]
        for p in ([result.base] if result.base else []) + list(result.points)
    ]
    return Table(
        ["model", "preference", *result.objectives, "collapse rate", "n"], rows, id=f"points-{_slug(result.name)}"
    )


def collapsed_examples(runs) -> list[Block]:
    """Up to COLLAPSED_EXAMPLES collapsed responses (prompt, response) per run, from its preference models."""
    blocks: list[Block] = []
    for result in runs:
        examples = []
        for point in result.points:
            frame = load_eval(result.run, point.label)
            examples += [
                [point.label, _clip(row.prompt), _clip(row.response)] for row in frame[frame["collapsed"]].itertuples()
            ]
        if examples:
            blocks += [
                f"{result.name}: {len(examples)} collapsed responses; the first {len(examples[:COLLAPSED_EXAMPLES])}:",
                Table(["model", "prompt", "response"], examples[:COLLAPSED_EXAMPLES]),
            ]
    return blocks or ["No preference model gave a collapsed response."]


def versions_table(runs) -> Table:
    """Package versions, Python and git commit of every run, from its manifest."""
    manifests = [r.run.manifest for r in runs]
    packages = list(dict.fromkeys(name for m in manifests for name in m.get("packages", {})))
    rows = [
        ["git commit", *(str(m.get("git_commit")) for m in manifests)],
        ["python", *(str(m.get("python")) for m in manifests)],
    ]
    rows += [[name, *(str(m.get("packages", {}).get(name)) for m in manifests)] for name in packages]
    return Table(["", *(r.name for r in runs)], rows, id="versions")


# --- Helpers --------------------------------------------------------------------------------------------------------


def _describe(result: RunResults) -> str:
    config = result.config
    return f"run {result.name!r} ({result.run.root}) is task {config.task} with objectives {list(result.objectives)}"


def _vector(values) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "run"


def _clip(text: str) -> str:
    """Text fit for a table cell: non-printable characters escaped (\\n, \\x00, ...), at most TEXT_LIMIT chars."""
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)
    return shown if len(shown) <= TEXT_LIMIT else shown[: TEXT_LIMIT - 1] + "…"


def _method_dict(result: RunResults, m: MethodMetrics) -> dict:
    return {
        "name": result.name,
        "method": result.config.method,
        "run": str(result.run.root),
        "preference_models": len(result.points),
        "hypervolume": m.quality.hypervolume,
        "raw_hypervolume": m.raw_hypervolume,
        "n_non_dominated": m.quality.n_non_dominated,
        "max_gap": m.quality.max_gap,
        "coverage": list(m.quality.coverage),
        "collapse_rate": m.collapse_rate,
        "training": m.training,
        "eval_wall_seconds": m.eval_seconds,
        "points": [asdict(p) for p in result.points],
        "base": asdict(result.base) if result.base else None,
    }
