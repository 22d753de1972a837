"""Text hygiene for generated responses: stop markers, trimming capped responses, degenerate and collapsed outputs."""

from __future__ import annotations

import re
from collections import Counter

# A sentence ends at . ! ? (optionally followed by closing quotes/brackets) before whitespace or the end.
_SENTENCE_END = re.compile(r"[.!?][\"')\]]*(?=\s|$)")
_WORD = re.compile(r"\w+")
# Runs of punctuation with no letters or digits around them, e.g. "!!!!!!" or "......".
_PUNCT_RUN = re.compile(r"[^\w\s]{6,}")


def cut_at_stops(text: str, stops: tuple[str, ...]) -> str:
    """`text` up to the first occurrence of any stop marker (e.g. the next turn's "\\n\\nHuman:"), stripped."""
    cut = min((i for i in (text.find(s) for s in stops if s) if i >= 0), default=len(text))
    return text[:cut].strip()


def trim_to_sentence(text: str) -> str | None:
    """`text` up to its last complete sentence, or None when it has none.

    For responses that hit the token cap mid-sentence: training on them (with the end-of-turn token appended)
    teaches a model to stop mid-sentence.
    """
    ends = list(_SENTENCE_END.finditer(text))
    return text[: ends[-1].end()].strip() if ends else None


def repeated_ngram(text: str, n: int = 3, times: int = 3) -> bool:
    """True when some word n-gram occurs at least `times` times (case-insensitive)."""
    words = [w.lower() for w in _WORD.findall(text)]
    grams = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return any(count >= times for count in grams.values())


def is_degenerate(text: str) -> bool:
    """Unusable as training data: empty, no word at all, or a long run of bare punctuation."""
    return not _WORD.search(text) or bool(_PUNCT_RUN.search(text))


def is_echo(prompt: str, response: str) -> bool:
    """True when the response only repeats the prompt (same words, ignoring case and punctuation): it scores a
    perfect relevance without answering, so it is no training data."""
    return [w.lower() for w in _WORD.findall(prompt)] == [w.lower() for w in _WORD.findall(response)]


def is_collapsed(text: str, min_words: int = 3) -> bool:
    """The collapse rule of the evaluation: fewer than `min_words` words, or a word 3-gram repeated 3+ times."""
    return len(_WORD.findall(text)) < min_words or repeated_ngram(text)


def clean_generation(prompt: str, text: str, capped: bool, stops: tuple[str, ...] = ()) -> str | None:
    """A usable training response from one generation, or None.

    The text is cut at the first stop marker; if it ran into the token cap instead, it is trimmed to its last
    complete sentence. Degenerate texts and mere echoes of the prompt are dropped.
    """
    text = text.strip()
    cut = cut_at_stops(text, stops)
    if capped and cut == text:
        cut = trim_to_sentence(cut) or ""
    return None if is_degenerate(cut) or is_echo(prompt, cut) else cut
