"""Alignment methods, one module each, with one interface: `fit(run, context)` trains (or resumes) everything the
method needs, and `policies(run, context)` says which model (and which prompt conditioning) serves each preference,
as {label: Policy}. Evaluation, reports and benchmarks only use this interface."""

from paretohqd.methods import paretohqd
from paretohqd.methods.base import Policy

METHODS = {"paretohqd": paretohqd}

__all__ = ["METHODS", "Policy"]
