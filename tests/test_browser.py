"""The HTML report in a real browser: headless Chromium (the binary alone, through subprocess) renders the metrics
table and the plots, the embedded PNGs decode, and a screenshot shows a real page."""

import os
import re
import shutil
import subprocess

import numpy as np
import pytest
import torch
from PIL import Image

from paretohqd.plots import DPI, PANEL
from paretohqd.report import compare_runs, load_runs, write_report
from tiny_runs import run_tiny, tiny_setup

torch.set_num_threads(1)

pytestmark = pytest.mark.slow

# Everything that could reach the network or a user profile is off; --no-sandbox because tests may run as root.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Appended to a copy of the report only: marks every image with the width the browser decoded it to.
PROBE = (
    "<script>window.addEventListener('load', () => { for (const img of document.images) "
    "img.dataset.naturalWidth = img.naturalWidth; });</script>"
)


@pytest.fixture(scope="module")
def chromium():
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("chromium is not installed; `make test` installs it (apt-get, as root) when it can")
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """The report of an evaluated tiny run, with the pool plot: (html file, run name)."""
    root = tmp_path_factory.mktemp("browser")
    run = run_tiny(tiny_setup(root), "name=browsed", out=root / "runs")
    files = write_report(compare_runs(load_runs([run.root])), root / "report", pool_preference="pref-01")
    return files.html, "browsed"


def browse(chromium, tmp_path, page, *args) -> str:
    """Run headless Chromium on `page` with a fresh profile and home folder; its stdout."""
    profile = tmp_path / "profile"
    profile.mkdir()
    result = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_rendered_page_has_the_metrics_table_and_decoded_plots(chromium, report, tmp_path):
    html_file, name = report
    probed = tmp_path / "probed.html"
    probed.write_text(html_file.read_text().replace("</body>", PROBE + "</body>"))
    dom = browse(chromium, tmp_path, probed, "--dump-dom")
    table = re.search(r'<table id="metrics">.*?</table>', dom, re.DOTALL)
    assert table is not None, dom[:2000]
    assert f"<td>{name}</td><td>paretohqd</td>" in table.group(0)
    widths = {
        re.search(r'id="figure-(\w+)"', img).group(1): re.search(r'data-natural-width="(\d+)"', img).group(1)
        for img in re.findall(r"<img [^>]*>", dom)
    }
    assert widths == {"front": str(int(PANEL[0] * DPI)), "pool": str(int(PANEL[0] * DPI))}


def test_a_screenshot_of_the_report_is_a_real_picture(chromium, report, tmp_path):
    html_file, _ = report
    shot = tmp_path / "report.png"
    browse(chromium, tmp_path, html_file, f"--screenshot={shot}", "--window-size=1280,2000")
    with Image.open(shot) as image:
        assert image.format == "PNG" and image.size == (1280, 2000)
        pixels = np.asarray(image.convert("RGB"))
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 50  # text, table borders and the plots, not a blank page
