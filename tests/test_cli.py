import os
import re
import subprocess
import sys
import textwrap

import pytest

from paretohqd import __version__
from paretohqd.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"paretohqd {__version__}"


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: paretohqd" in capsys.readouterr().out


def test_demo_prints_one_row_per_preference(capsys):
    assert main(["demo", "--samples", "200", "--k", "10"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^\s*(\d\.\d) \|", out, flags=re.MULTILINE)
    assert rows == [f"{w / 10:.1f}" for w in range(11)]
    assert "Synthetic pool: 200 samples" in out


def test_console_script_is_installed():
    done = subprocess.run(
        ["paretohqd", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]},
    )
    assert done.returncode == 0 and "demo" in done.stdout


def test_compiled_kernels_are_cached_on_disk(tmp_path):
    """A second process loads the compiled kernel from the cache instead of compiling it again."""
    script = textwrap.dedent(
        """
        import numpy as np
        from paretohqd.pareto import _kernels, pareto_ranks
        pareto_ranks(np.random.default_rng(0).random((50, 2)))
        print(len(_kernels.ranks_2d.stats.cache_hits), len(_kernels.ranks_2d.stats.cache_misses))
        """
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = [
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
        for _ in range(2)
    ]
    first, second = (tuple(map(int, r.stdout.split())) for r in runs)
    assert first == (0, 1)
    assert second == (1, 0)
    assert any(tmp_path.rglob("*.nbi"))
