"""benchmarks/RESULTS.md is made of one section per benchmark; each benchmark rewrites only its own section."""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
README = Path(__file__).resolve().parent.parent / "README.md"


def replace_section(heading: str, section: str) -> None:
    """Put `section` (starting with the line `heading`) in RESULTS.md in place of the old one, or append it."""
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    start = text.find(heading)
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start] + section.rstrip("\n") + "\n" + ("\n" + text[end + 1 :] if end >= 0 else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n"
    RESULTS.write_text(text)


def publish(name: str, result: dict, section: str) -> None:
    """Write a benchmark's raw numbers to results/<name>.json and its `section` (heading first) to RESULTS.md."""
    (RESULTS.parent / "results" / f"{name}.json").write_text(json.dumps(result, indent=1) + "\n")
    replace_section(section.split("\n", 1)[0], section)


def replace_readme_block(name: str, block: str) -> None:
    """Put `block` in README.md between the lines `<!-- name -->` and `<!-- /name -->` (which must exist: where a
    benchmark's summary goes in the README is the README's choice)."""
    text = README.read_text()
    start, end = f"<!-- {name} -->\n", f"<!-- /{name} -->"
    a, b = text.find(start), text.find(end)
    if a < 0 or b < a:
        raise ValueError(f"README.md has no {start.strip()} ... {end} block")
    README.write_text(text[: a + len(start)] + block.rstrip("\n") + "\n" + text[b:])
