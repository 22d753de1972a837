"""The report's document model and its renderers: a report is a title and (heading, blocks) sections, where a block
is a paragraph (str), a Table, a Figure or a Code block; `to_markdown` and `to_html` turn it into a markdown file or a
self-contained HTML page, escaping cell and caption text for each format.
"""

from __future__ import annotations

import base64
import html
import os
import re
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Table:
    """A table of text cells; id names it in the HTML (e.g. "metrics")."""

    header: list[str]
    rows: list[list[str]]
    id: str | None = None


@dataclass(frozen=True)
class Figure:
    """A PNG in the report's folder (linked from markdown, embedded in HTML)."""

    file: str
    caption: str


@dataclass(frozen=True)
class Code:
    """Preformatted text under a caption (a config, ...)."""

    caption: str
    text: str


Block = str | Table | Figure | Code


def to_markdown(title: str, sections) -> str:
    """The report as markdown; figures link to the PNGs next to it."""
    lines = [f"# {title}", ""]
    for heading, blocks in sections:
        lines += [f"## {heading}", ""]
        for block in blocks:
            lines += [*_markdown_block(block), ""]
    return "\n".join(lines)


def _markdown_block(block: Block) -> list[str]:
    if isinstance(block, Table):
        return [
            _markdown_row(block.header),
            "|" + "|".join("---" for _ in block.header) + "|",
            *(_markdown_row(row) for row in block.rows),
        ]
    if isinstance(block, Figure):
        return [f"![{block.caption}]({block.file})", "", block.caption]
    if isinstance(block, Code):
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", block.text)), default=0))
        return [f"**{block.caption}**", "", fence, block.text.rstrip("\n"), fence]
    return [block]


def _markdown_row(cells: list[str]) -> str:
    """A markdown table row; backslashes and pipes escaped so that cell text cannot split the row."""
    return "| " + " | ".join(c.replace("\\", "\\\\").replace("|", "\\|") for c in cells) + " |"


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 72rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .9rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: left; vertical-align: top; }
th { background: #f3f3f3; } tbody tr:nth-child(even) { background: #fafafa; }
figure { margin: 1rem 0; } img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9rem; color: #555; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: .8rem; }
"""


def to_html(title: str, sections, folder: str | os.PathLike) -> str:
    """The report as one HTML page with no external resources: inline CSS, PNGs from `folder` as data URIs."""
    body = [f"<h1>{html.escape(title)}</h1>"]
    for heading, blocks in sections:
        body.append(f"<section><h2>{html.escape(heading)}</h2>")
        body += [_html_block(block, Path(folder)) for block in blocks]
        body.append("</section>")
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        + "\n".join(body)
        + "\n</main>\n</body>\n</html>\n"
    )


def _html_block(block: Block, folder: Path) -> str:
    if isinstance(block, Table):
        table_id = f' id="{html.escape(block.id)}"' if block.id else ""
        head = "".join(f"<th>{html.escape(c)}</th>" for c in block.header)
        rows = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in block.rows)
        return f"<table{table_id}><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
    if isinstance(block, Figure):
        data = base64.b64encode((folder / block.file).read_bytes()).decode("ascii")
        name = html.escape(Path(block.file).stem)
        return (
            f'<figure><img id="figure-{name}" alt="{html.escape(block.caption)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(block.caption)}</figcaption></figure>"
        )
    if isinstance(block, Code):
        return f"<p><strong>{html.escape(block.caption)}</strong></p><pre><code>{html.escape(block.text)}</code></pre>"
    return f"<p>{html.escape(block)}</p>"
