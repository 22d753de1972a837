"""Reports and comparisons of finished runs: values from hand-made evaluations, the files written, errors for bad
input, and the `report` / `compare` commands on real tiny runs (read, never regenerated)."""

import base64
import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from paretohqd.cli import main
from paretohqd.config import load_config
from paretohqd.plots import DPI, PANEL, preference_label
from paretohqd.report import compare_runs, format_comparison, load_runs, write_report
from paretohqd.runs import Run
from tiny_runs import run_tiny, tiny_setup

torch.set_num_threads(1)

PANEL_PIXELS = (int(PANEL[0] * DPI), int(PANEL[1] * DPI))


def fake_run(root, name, means, *, collapse=None, base=(0.0, 0.0), objectives=("test-a", "brevity"), **options):
    """A run folder that holds only a saved evaluation: preference models at `means` (K, M), each answering two
    prompts with rewards mean -/+ 0.1 (stderr 0.1), `collapse` rates in {0, 0.5, 1}, and one training unit of 7
    steps. options: task, responses (label -> two responses), preferences (K, M), eval (False: no evaluation)."""
    m = len(objectives)
    overrides = [f"name={name}", f"task={options.get('task', 'chat-offline')}", f"objectives=[{', '.join(objectives)}]"]
    run = Run(root / name, load_config(None, overrides))
    with run.unit("train-1/pref-00") as record:
        record.update(steps=7, samples_seen=14)
    if options.get("eval") is False:
        return run.root
    k = len(means)
    preferences = options.get("preferences") or [[1 - i / max(1, k - 1), i / max(1, k - 1)] for i in range(k)]
    collapse = collapse or [0.0] * k
    models = [("base", None, base, 0.0)] if base is not None else []
    models += [(f"pref-{i:02d}", preferences[i], means[i], collapse[i]) for i in range(k)]
    points = []
    for label, weights, mean, rate in models:
        responses = options.get("responses", {}).get(label, ["a fine answer here", "another fine answer"])
        frame = pd.DataFrame({"prompt": ["first prompt?", "second prompt?"], "response": responses})
        for j, objective in enumerate(objectives):
            frame[objective] = [mean[j] - 0.1, mean[j] + 0.1]
        frame["collapsed"] = [rate > 0, rate == 1]
        frame["new_tokens"], frame["capped"] = 4, False
        frame.to_parquet(run.path("eval", f"{label}.parquet"))
        stderr = [0.1] * m
        points.append(dict(label=label, preference=weights, mean=list(mean), stderr=stderr, collapse_rate=rate, n=2))
    run.path("eval", "points.json").write_text(json.dumps(points))
    return run.root


@pytest.fixture
def two(tmp_path):
    """Two hand-made runs: a = (2, 0), (1, 1), (0, 2) and b = (1.5, 0.5), (0.5, 1.5), base models at (0, 0)."""
    a = fake_run(tmp_path, "a", [(2.0, 0.0), (1.0, 1.0), (0.0, 2.0)], collapse=[0.0, 0.5, 1.0])
    b = fake_run(tmp_path, "b", [(1.5, 0.5), (0.5, 1.5)])
    return a, b


def png_size(path):
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.load()
        return image.size


def test_metrics_of_hand_made_runs(two):
    comparison = compare_runs(load_runs(two))
    a, b = comparison.metrics
    # Joint bounds (0, 0)-(2, 2): a normalises to (1, 0), (0.5, 0.5), (0, 1) -> 0.25; b to (0.75, 0.25), (0.25, 0.75)
    # -> 0.75 * 0.25 + 0.25 * 0.5 = 0.3125. Raw reference at the minimum (0, 0): the volumes times the span 2 * 2.
    assert comparison.bounds.lower.tolist() == [0.0, 0.0] and comparison.bounds.upper.tolist() == [2.0, 2.0]
    assert comparison.reference.tolist() == [0.0, 0.0] and not comparison.given
    assert a.quality.hypervolume == pytest.approx(0.25) and b.quality.hypervolume == pytest.approx(0.3125)
    assert a.raw_hypervolume == pytest.approx(1.0) and b.raw_hypervolume == pytest.approx(1.25)
    assert (a.quality.n_non_dominated, b.quality.n_non_dominated) == (3, 2)
    assert a.quality.max_gap == pytest.approx(np.sqrt(0.5)) and b.quality.max_gap == pytest.approx(np.sqrt(0.5))
    assert a.quality.coverage == pytest.approx((1.0, 1.0)) and b.quality.coverage == pytest.approx((0.5, 0.5))
    assert a.collapse_rate == pytest.approx(0.5) and b.collapse_rate == 0.0
    assert a.training["steps"] == 7 and a.training["samples_seen"] == 14 and a.training["wall_seconds"] >= 0


def test_a_given_reference_changes_only_the_raw_volume(two):
    comparison = compare_runs(load_runs(two), reference=[-1.0, -1.0])
    a, b = comparison.metrics
    # Staircases from (-1, -1): a = 1 * 3 + 1 * 2 + 1 * 1; b = 1.5 * 2.5 + 1 * 1.5.
    assert a.raw_hypervolume == pytest.approx(6.0) and b.raw_hypervolume == pytest.approx(5.25)
    assert a.quality.hypervolume == pytest.approx(0.25)
    assert comparison.given and comparison.to_dict()["reference_source"] == "given"


def test_the_comparison_table_names_every_run_and_the_normalisation(two):
    text = format_comparison(compare_runs(load_runs(two)))
    rows = {line.split()[0]: line.split() for line in text.splitlines()[2:4]}
    assert rows["a"][1:5] == ["paretohqd", "0.2500", "1", "3/3"]
    assert rows["b"][1:5] == ["paretohqd", "0.3125", "1.25", "2/2"]
    assert "lower (0, 0) and upper (2, 2)" in text
    assert "Raw HV: reference point (0, 0) (per-objective minimum over every compared point)" in text


def test_report_files_and_machine_readable_metrics(two, tmp_path):
    files = write_report(compare_runs(load_runs(two)), tmp_path / "out")
    assert sorted(p.name for p in files.folder.iterdir()) == ["front.png", "metrics.json", "report.html", "report.md"]
    assert files.pool is None  # hand-made runs have no scored pool
    assert png_size(files.front) == PANEL_PIXELS
    metrics = json.loads(files.metrics.read_text())
    assert metrics["objectives"] == ["test-a", "brevity"] and metrics["reference"] == [0.0, 0.0]
    assert metrics["bounds"] == {"lower": [0.0, 0.0], "upper": [2.0, 2.0]}
    assert [m["name"] for m in metrics["methods"]] == ["a", "b"]
    first = metrics["methods"][0]
    assert first["hypervolume"] == pytest.approx(0.25) and first["raw_hypervolume"] == pytest.approx(1.0)
    assert first["n_non_dominated"] == 3 and first["collapse_rate"] == pytest.approx(0.5)
    assert first["training"]["steps"] == 7 and first["base"]["label"] == "base" and len(first["points"]) == 3


def test_markdown_report_has_every_table(two, tmp_path):
    text = write_report(compare_runs(load_runs(two)), tmp_path / "out").markdown.read_text()
    assert "| a | paretohqd | 0.2500 | 1 | 3/3 | 0.7071 | 1.00/1.00 | 50.0% |" in text
    assert "| b | paretohqd | 0.3125 | 1.25 | 2/2 | 0.7071 | 0.50/0.50 | 0.0% |" in text
    assert "| test-a | 0 | 2 | 0 |" in text  # bounds and raw reference per objective
    assert "| pref-01 | w=0.50/0.50 | 1.0000 ± 0.1000 | 1.0000 ± 0.1000 | 50.0% | 2 |" in text
    assert "| base | - | 0.0000 ± 0.1000 | 0.0000 ± 0.1000 | 0.0% | 2 |" in text
    assert "![" in text and "(front.png)" in text
    assert "name: a\ntask: chat-offline\nmethod: paretohqd" in text  # the config as YAML
    assert re.search(r"\| numpy \| \d+\.\d+", text)  # package versions from the manifests


def test_collapsed_examples_are_quoted_and_escaped(tmp_path):
    responses = {"pref-00": ["<script>alert(1)</script> & | ok ok ok ok ok ok ok ok", "no\x00"]}
    root = fake_run(tmp_path, "x", [(1.0, 0.0), (0.0, 1.0)], collapse=[1.0, 0.0], responses=responses)
    files = write_report(compare_runs(load_runs([root])))
    assert files.folder == root / "report"
    page, text = files.html.read_text(), files.markdown.read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; | ok" in page
    assert "no\\x00" in page and "\x00" not in page
    assert "x: 2 collapsed responses; the first 2:" in text
    assert "\\| ok ok" in text  # a pipe inside a cell does not split the markdown row


def test_html_is_self_contained(two, tmp_path):
    files = write_report(compare_runs(load_runs(two)), tmp_path / "out")
    page = files.html.read_text()
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    sources = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<link" not in page and "http://" not in page and "https://" not in page
    embedded = re.search(r'id="figure-front"[^>]*src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(embedded) == files.front.read_bytes()
    assert '<table id="metrics">' in page and "<td>a</td><td>paretohqd</td><td>0.2500</td>" in page


def test_three_objectives_plot_every_pair_of_objectives(tmp_path):
    means = [(1.0, 0.0, 0.5), (0.0, 1.0, 0.5), (0.4, 0.4, 1.0)]
    preferences = [[1, 0, 0], [0, 1, 0], [0.2, 0.2, 0.6]]
    objectives = ("test-a", "brevity", "positivity")
    root = fake_run(tmp_path, "m3", means, base=(0, 0, 0), objectives=objectives, preferences=preferences)
    files = write_report(compare_runs(load_runs([root])))
    assert png_size(files.front) == (3 * PANEL_PIXELS[0], PANEL_PIXELS[1])  # 1-2, 1-3 and 2-3
    quality = json.loads(files.metrics.read_text())["methods"][0]
    assert quality["max_gap"] is None and len(quality["coverage"]) == 3
    assert "w=0.20/0.20/0.60" in files.markdown.read_text()


def test_runs_of_the_same_name_are_told_apart(two):
    runs = load_runs([two[0], two[1], two[0]])
    assert [r.name for r in runs] == ["a", "b", "a #2"]


def test_preference_labels():
    assert preference_label([0.25, 0.75]) == "w=0.25/0.75"
    assert preference_label(None) == "-"


def test_a_folder_that_is_not_a_run_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a run folder"):
        load_runs([tmp_path])


def test_a_run_without_evaluation_says_how_to_evaluate_it(tmp_path):
    root = fake_run(tmp_path, "raw", [], eval=False)
    with pytest.raises(
        FileNotFoundError,
        match=rf"run 'raw' \({re.escape(str(root))}\) has not been evaluated.*"
        rf"paretohqd eval {re.escape(str(root))}",
    ):
        load_runs([root])


def test_keys_of_saved_points_that_a_point_does_not_have_are_ignored(tmp_path):
    root = fake_run(tmp_path, "a", [(1.0, 2.0)])
    points_file = root / "eval" / "points.json"
    points_file.write_text(json.dumps([{**p, "tokens_per_second": 9.5} for p in json.loads(points_file.read_text())]))
    (result,) = load_runs([root])
    assert result.means().tolist() == [[1.0, 2.0]] and result.base.mean == [0.0, 0.0]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"task": "reddit-summary"}, "is task reddit-summary"),
        ({"objectives": ("brevity", "test-a")}, r"with objectives \['brevity', 'test-a'\]"),
    ],
)
def test_runs_of_different_tasks_or_objectives_are_not_compared(two, tmp_path, options, message):
    other = fake_run(tmp_path, "other", [(1.0, 1.0)], **options)
    with pytest.raises(ValueError, match=f"runs of different tasks or objectives cannot be compared.*{message}"):
        load_runs([two[0], other])


def test_a_reference_of_the_wrong_length_is_an_error(two):
    with pytest.raises(ValueError, match=r"reference point has 3 value\(s\) but the runs have 2 objectives \(test-a"):
        compare_runs(load_runs(two), reference=[0, 0, 0])


def test_a_report_of_several_runs_needs_an_output_folder(two):
    with pytest.raises(ValueError, match="needs an output folder"):
        write_report(compare_runs(load_runs(two)))


# --- Real tiny runs through the commands -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Two evaluated tiny ParetoHqD runs: "full" (both stages) and "short" (stage 1 only)."""
    root = tmp_path_factory.mktemp("report")
    setup = tiny_setup(root)
    full = run_tiny(setup, "name=full", out=root / "runs")
    short = run_tiny(setup, "name=short", "stage2.enabled=false", out=root / "runs")
    return full.root, short.root


def snapshot(folder):
    return {p: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*") if p.is_file()}


def test_cli_report_reads_the_saved_evaluation_of_a_run(tiny, capsys):
    full = tiny[0]
    before = snapshot(full)
    assert main(["report", str(full), "--pool-preference", "pref-02"]) == 0
    out = capsys.readouterr().out
    folder = full / "report"
    assert f"Report: {folder / 'report.html'}" in out
    assert {p: s for p, s in snapshot(full).items() if folder not in p.parents} == before  # nothing regenerated
    assert png_size(folder / "front.png") == PANEL_PIXELS and png_size(folder / "pool.png") == PANEL_PIXELS
    metrics = json.loads((folder / "metrics.json").read_text())["methods"][0]
    saved = json.loads((full / "eval" / "points.json").read_text())
    assert [p["mean"] for p in metrics["points"]] == [p["mean"] for p in saved[1:]]
    assert metrics["training"] == {key: Run.open(full).compute()["training"][key] for key in metrics["training"]}
    assert metrics["training"]["steps"] == 3 * (30 + 2)  # both stages of three preferences
    text = (folder / "report.md").read_text()
    assert "stage-1 selection of pref-02" in text and "(pool.png)" in text
    assert ("No preference model gave a collapsed response." in text) == (metrics["collapse_rate"] == 0)


def test_cli_compare_prints_the_table_and_writes_nothing(tiny, capsys):
    before = {root: snapshot(root) for root in tiny}
    assert main(["compare", *map(str, tiny), "--reference", "0", "0"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^full +paretohqd +\d\.\d{4} ", out, re.MULTILINE)
    assert re.search(r"^short +paretohqd +\d\.\d{4} ", out, re.MULTILINE)
    assert "Raw HV: reference point (0, 0) (given)." in out and "min-max normalised" in out
    assert {root: snapshot(root) for root in tiny} == before


def test_cli_compare_writes_the_report_with_out(tiny, tmp_path, capsys):
    assert main(["compare", *map(str, tiny), "--out", str(tmp_path / "cmp")]) == 0
    assert f"Report: {tmp_path / 'cmp' / 'report.html'}" in capsys.readouterr().out
    metrics = json.loads((tmp_path / "cmp" / "metrics.json").read_text())
    assert [m["name"] for m in metrics["methods"]] == ["full", "short"]
    full, short = metrics["methods"]
    assert short["training"]["steps"] == 3 * 30 < full["training"]["steps"]  # stage 1 only
    assert (tmp_path / "cmp" / "pool.png").is_file()


def test_cli_compare_needs_two_runs(tiny):
    with pytest.raises(SystemExit, match="at least two runs"):
        main(["compare", str(tiny[0])])


def test_cli_report_of_an_unknown_pool_preference_lists_the_known_ones(tiny, tmp_path, capsys):
    assert main(["report", str(tiny[0]), "--out", str(tmp_path / "r"), "--pool-preference", "pref-09"]) == 2
    assert "for 'pref-09'; selections it has: pref-00, pref-01, pref-02" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(("label_all", "labelled"), [(40, [[1, 0], [0.5, 0.5], [0, 1]]), (2, [[1, 0], [0, 1]])])
def test_a_crowded_front_plot_labels_only_the_non_dominated_points(tmp_path, monkeypatch, label_all, labelled):
    from paretohqd import plots

    root = fake_run(tmp_path, "c", [(2.0, 0.0), (1.0, 0.0), (0.0, 2.0)], preferences=[[1, 0], [0.5, 0.5], [0, 1]])
    figures = []
    monkeypatch.setattr(plots, "LABEL_ALL", label_all)
    monkeypatch.setattr(plots, "_save", lambda plt, fig, path: figures.append(fig))
    plots.plot_fronts(load_runs([root]), tmp_path / "front.png")
    texts = [text.get_text() for ax in figures[0].axes for text in ax.texts]
    assert sorted(texts) == sorted(preference_label(w) for w in labelled)
