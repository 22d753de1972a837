import os
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


def test_console_script_is_installed():
    done = subprocess.run(
        ["paretohqd", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]},
    )
    assert done.returncode == 0 and all(cmd in done.stdout for cmd in ("run", "demo", "select", "score", "build-pool"))


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


def test_score_command_scores_a_users_file_and_prints_stats(tmp_path, capsys):
    source = tmp_path / "samples.jsonl"
    source.write_text('{"q": "hi", "a": "hello there"}\n{"q": "bye", "a": "see you soon, friend"}\n')
    args = ["score", "--input", str(source), "--prompt-column", "q", "--response-column", "a"]
    assert main([*args, "--objectives", "brevity", "positivity", "--out", str(tmp_path / "out"), "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "Scored pool: 2 samples x 2 objectives" in out
    assert [line.split()[0] for line in out.splitlines()[2:4]] == ["brevity", "positivity"]
    assert "Spearman correlation brevity vs positivity" in out and "first front" in out
    assert len(list((tmp_path / "out").glob("*/pool.parquet"))) == 1


def test_score_command_needs_one_source(tmp_path):
    with pytest.raises(SystemExit, match="exactly one of --task or --input"):
        main(["score", "--threads", "1"])
