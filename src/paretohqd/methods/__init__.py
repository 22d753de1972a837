"""Alignment methods, one module each, with one interface: `fit(run, context)` trains (or resumes) everything the
method needs, and `policies(run, context)` says which model (and which prompt conditioning) serves each preference,
as {label: Policy}. Evaluation, reports and benchmarks only use this interface."""

from paretohqd.methods import full_sft, modpo, morlhf, paretohqd, ric, scalarized, soups, stage1_only
from paretohqd.methods.base import Policy

METHODS = {
    "paretohqd": paretohqd,
    "ric": ric,
    "scalarized": scalarized,
    "stage1_only": stage1_only,
    "full_sft": full_sft,
    "soups": soups,
    "morlhf": morlhf,
    "modpo": modpo,
}

__all__ = ["METHODS", "Policy"]
