"""ParetoHqD (DESIGN.md §2): per preference, SFT on the top-layer samples nearest its ray (stage 1); then the
representative stage-1 models answer training prompts, the new pool is rescored and reselected, and each
preference's adapter trains on k/2 new samples (stage 2).

Units of work (each resumable, see `paretohqd.runs`): pool, select-1, train-1/pref-XX, generate-2/rep-XX, pool-2,
select-2, train-2/pref-XX; on `executor: ray` the per-preference units run in parallel (see `fit`). Outputs:
selections/stage{1,2}/pref-XX.jsonl, generations/stage2/pref-XX.parquet, adapters/stage{1,2}/pref-XX/.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from paretohqd.data.scoring import ScoredPool, load_pool, score_pool
from paretohqd.executors import executor_for
from paretohqd.files import write_parquet_atomic, write_text_atomic
from paretohqd.methods.base import Policy
from paretohqd.pareto import Bounds, Selection, select_pareto_hqd
from paretohqd.pipeline import Context, prompt_options, scored_pool, selection_frame
from paretohqd.runs import PREFERENCES_FILE, Run

# (rewards (N, M), preferences (K, M), k, bounds or None) -> Selection: how a stage picks each preference's samples.
Selector = Callable[[np.ndarray, np.ndarray, int, Bounds | None], Selection]


def representatives(context: Context) -> list[int]:
    """Indices of the preferences whose stage-1 models generate in stage 2: the nearest to each single-objective
    vector and to the balanced vector (or to the configured representative vectors), without repeats."""
    m = len(context.objectives)
    targets = context.config.stage2.representatives
    targets = np.vstack([np.eye(m), np.full(m, 1 / m)]) if targets is None else np.asarray(targets, dtype=float)
    targets = targets / targets.sum(axis=1, keepdims=True)
    nearest = [int(np.argmin(np.linalg.norm(context.preferences - t, axis=1))) for t in targets]
    return list(dict.fromkeys(nearest))


def pareto_hqd_selector(context: Context) -> Selector:
    """The ParetoHqD selection with the run's settings: top layers, then the k nearest to each preference ray."""
    sel = context.config.selection

    def choose(rewards: np.ndarray, preferences: np.ndarray, k: int, bounds: Bounds | None) -> Selection:
        return select_pareto_hqd(
            rewards,
            preferences,
            k,
            pool_factor=sel.pool_factor,
            layers=sel.layers,
            metric=sel.metric,
            bounds=bounds,
            quantiles=sel.quantiles,
        )

    return choose


def select_stage(
    run: Run,
    context: Context,
    pool: ScoredPool,
    stage: int,
    k: int,
    bounds: Bounds | None = None,
    selector: Selector | None = None,
) -> dict:
    """Select k samples per preference from `pool` (ParetoHqD's selection unless another `selector` is given),
    write them as JSONL per preference, return the unit record."""
    choose = selector or pareto_hqd_selector(context)
    selection = choose(pool.rewards, context.preferences, k, bounds)
    means = []
    for index in range(len(context.preferences)):
        frame = selection_frame(pool.frame, selection.indices[index], selection.keys[index], context.objectives)
        path = run.path("selections", f"stage{stage}", f"{context.label(index)}.jsonl")
        frame.to_json(path, orient="records", lines=True)
        means.append(frame[list(context.objectives)].mean().round(4).tolist())
    return {
        "k": k,
        "pool_size": len(pool.frame),
        "n_layers": selection.n_layers,
        "high_quality_pool": int(selection.candidates.size),
        "bounds": selection.bounds.to_dict(),
        "distinct_samples": int(np.unique(selection.indices).size),
        "mean_rewards": means,
    }


def score(run: Run, context: Context) -> ScoredPool:
    """The run's scored pool (unit pool); every method starts here."""
    if run.todo("pool"):
        with run.unit("pool") as record:
            pool = scored_pool(run, context)
            record.update(path=str(pool.path.relative_to(run.root)), samples=len(pool.frame), stats=pool.stats())
    return load_pool(run.root / run.result("pool")["path"])


def select(run: Run, context: Context, selector: Selector | None = None) -> ScoredPool:
    """Score the pool and write the preference vectors (preferences.json) and the stage-1 selections (units pool,
    select-1); returns the scored pool."""
    pool = score(run, context)
    if run.todo("select-1"):
        with run.unit("select-1") as record:
            preferences = {context.label(i): w.tolist() for i, w in enumerate(context.preferences)}
            write_text_atomic(run.path(PREFERENCES_FILE), json.dumps(preferences, indent=1))
            record.update(select_stage(run, context, pool, 1, context.config.selection.k, selector=selector))
    return pool


def fit(run: Run, context: Context, selector: Selector | None = None) -> None:
    """Run (or resume) both stages for every preference of the context (with another `selector`: the same two
    stages on another selection rule, e.g. the linear-scalarisation ablation), on the config's executor.

    Scoring and stage-1 selection run here; then each preference's stage-1 training is a task, each representative's
    generation waits for its own stage-1 model, rescoring and reselection wait for every generation, and each
    preference's stage-2 training waits for the reselection and its own stage-1 model. The representatives' stage-1
    trainings are submitted first: they are on the critical path (a scheduler that starts tasks in the order given,
    as Ray does with free slots, then starts their generations while the other models train)."""
    executor = executor_for(context.config)
    select(run, context, selector)
    preferences = range(len(context.preferences))
    reps = representatives(context)
    order = [*reps, *(p for p in preferences if p not in reps)]
    stage1 = {i: executor.submit(train_stage, run, context, 1, i) for i in order}
    if not context.config.stage2.enabled:
        executor.gather(stage1.values())
        return
    prompts = stage2_prompts(context)
    generated = [executor.submit(generate_stage2, run, context, i, prompts, stage1[i]) for i in reps]
    selected = executor.submit(select_stage2, run, context, selector, *generated)
    stage2 = [executor.submit(train_stage, run, context, 2, i, selected, stage1[i]) for i in preferences]
    executor.gather([*stage1.values(), *generated, selected, *stage2])


def train_stage(run: Run, context: Context, stage: int, index: int, *after) -> None:
    """Unit train-<stage>/<label>: SFT on preference `index`'s selection of that stage — stage 1 from the base model,
    stage 2 continuing its stage-1 adapter. after: handles of the tasks this one waits for (stage 2: the reselection
    and its stage-1 training)."""
    from paretohqd.train import train_sft

    label = context.label(index)
    unit = f"train-{stage}/{label}"
    if not run.todo(unit, everyone=True):
        return
    config = context.config
    with run.unit(unit) as record:
        result = train_sft(
            config.model,
            _selection(run, context, stage, index),
            run.path("adapters", f"stage{stage}", label),
            lora=config.lora,
            train=config.train if stage == 1 else _stage2_train(config),
            chat=context.task.chat_template,
            init_adapter=None if stage == 1 else run.root / "adapters" / "stage1" / label,
        )
        record.update(steps=result.steps, samples_seen=result.samples_seen, final_loss=result.final_loss)


def stage2_prompts(context: Context) -> list[str]:
    """The stage2.prompts training prompts the representative models answer, drawn with the run's seed."""
    prompts = context.task.load_train_prompts(**prompt_options(context))
    rng = np.random.default_rng(context.config.seed)
    return [prompts[i] for i in sorted(rng.permutation(len(prompts))[: context.config.stage2.prompts])]


def generate_stage2(run: Run, context: Context, index: int, prompts: list[str], *after) -> None:
    """Unit generate-2/rep-<label>: preference `index`'s stage-1 model answers `prompts`; degenerate answers are
    dropped. after: handles of the tasks this one waits for (its stage-1 training)."""
    from paretohqd.generate import format_prompts, generate
    from paretohqd.models import load_tokenizer
    from paretohqd.text import clean_generation
    from paretohqd.train import load_trained

    unit = f"generate-2/rep-{context.label(index)}"
    if not run.todo(unit):
        return
    config = context.config
    with run.unit(unit) as record:
        model = load_trained(config.model, run.root / "adapters" / "stage1" / context.label(index), merge=True)
        tokenizer = load_tokenizer(config.model)
        inputs = format_prompts(tokenizer, prompts, context.task.chat_template)
        out = generate(model, tokenizer, inputs, config.stage2.generation)
        rows = [
            {"prompt": p, "response": r}
            for p, text, capped in zip(prompts, out.texts, out.capped, strict=True)
            if (r := clean_generation(p, text, bool(capped), context.task.stop_markers)) is not None
        ]
        frame = pd.DataFrame(rows, columns=["prompt", "response"])
        write_parquet_atomic(frame, run.path("generations", "stage2", f"{context.label(index)}.parquet"))
        record.update(generations=len(prompts), kept=len(rows), tokens_per_second=out.tokens_per_second)


def select_stage2(run: Run, context: Context, selector: Selector | None, *after) -> None:
    """Units pool-2 and select-2: score the representatives' generations as a new pool and select k/2 samples per
    preference from it. after: handles of the tasks this one waits for (every generation)."""
    config = context.config
    if run.todo("pool-2"):
        with run.unit("pool-2") as record:
            frames = [
                pd.read_parquet(run.root / "generations" / "stage2" / f"{context.label(i)}.parquet")
                for i in representatives(context)
            ]
            new = score_pool(pd.concat(frames, ignore_index=True), context.objectives, run.root / "pools")
            record.update(path=str(new.path.relative_to(run.root)), samples=len(new.frame), stats=new.stats())
    if run.todo("select-2"):
        new_pool = load_pool(run.root / run.result("pool-2")["path"])
        k2 = config.stage2.k or max(1, config.selection.k // 2)
        with run.unit("select-2") as record:
            bounds = Bounds(**run.result("select-1")["bounds"]) if config.stage2.reuse_bounds else None
            record.update(select_stage(run, context, new_pool, 2, k2, bounds, selector))


def _selection(run: Run, context: Context, stage: int, index: int) -> pd.DataFrame:
    path = run.root / "selections" / f"stage{stage}" / f"{context.label(index)}.jsonl"
    return pd.read_json(path, orient="records", lines=True, dtype={"prompt": str, "response": str})


def _stage2_train(config):
    """Stage 2 trains with stage 1's settings for stage2.steps more steps."""
    return replace(config.train, steps=config.stage2.steps, epochs=None)


def policies(run: Run, context: Context, stage: int | None = None) -> dict[str, Policy]:
    """Per preference label, its final adapter (stage 2 when enabled; `stage` picks one explicitly)."""
    stage = stage or (2 if context.config.stage2.enabled else 1)
    labels = [context.label(i) for i in range(len(context.preferences))]
    return {label: Policy(str(run.root / "adapters" / f"stage{stage}" / label)) for label in labels}
