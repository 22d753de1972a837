"""What every method hands to evaluation: for each preference, a `Policy` — the model that serves it (an adapter
folder, or the base model) and the conditioning text its prompts carry (RiC's desired rewards; empty otherwise)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    """The model for one preference. adapter: a LoRA adapter (or full model) folder, None for the base model.
    prompt_tags: text inserted right before the response of every prompt (`Task.insert_before_response`)."""

    adapter: str | None
    prompt_tags: str = ""
