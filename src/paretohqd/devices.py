"""Device and dtype choice shared by everything that runs a torch model (torch is imported on call)."""

from __future__ import annotations

DTYPES = ("float32", "bfloat16", "float16", "auto")


def resolve_device(device: str | None) -> str:
    """`device`, or "cuda" when available and "cpu" otherwise."""
    import torch

    return device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu")


def resolve_dtype(dtype: str):
    """A torch dtype for `from_pretrained(dtype=...)`; "auto" keeps the checkpoint's."""
    import torch

    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {', '.join(DTYPES)}; got {dtype!r}")
    return dtype if dtype == "auto" else getattr(torch, dtype)
