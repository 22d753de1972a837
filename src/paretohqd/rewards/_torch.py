"""What the torch-backed rewards share: length-sorted padded batches."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from paretohqd.rewards.base import progress_bar


def padded_batches(
    tokenizer,
    encodings: dict[str, Sequence],
    batch_size: int,
    device: str,
    *,
    desc: str,
    show_progress: bool,
    sort_by_length: bool = True,
) -> Iterator[tuple[np.ndarray, dict]]:
    """Yield (rows, tensors): the tokenized rows in batches of similar length, longest first, padded on the right.

    encodings: the tokenizer's unpadded output for N rows (lists of token ids per key). Sorting by length keeps
    padding short; `rows` (B,) says which input rows a batch holds, so callers put the results back in input order.
    Long batches come first so that running out of memory happens at once, not at the end. sort_by_length=False
    batches rows in input order (for comparison).
    """
    lengths = np.array([len(ids) for ids in encodings["input_ids"]])
    order = np.argsort(-lengths, kind="stable") if sort_by_length else np.arange(lengths.size)
    starts = range(0, lengths.size, batch_size)
    for start in progress_bar(starts, total=len(starts), desc=desc, enabled=show_progress):
        rows = order[start : start + batch_size]
        features = {key: [values[i] for i in rows] for key, values in encodings.items()}
        batch = tokenizer.pad(features, return_tensors="pt")
        yield rows, {key: tensor.to(device) for key, tensor in batch.items()}
