"""Alignment methods, one module each, with one interface: `fit(run, context)` trains (or resumes) everything the
method needs, and `final_adapters(run, context)` says which adapter serves each preference."""

from paretohqd.methods import paretohqd

METHODS = {"paretohqd": paretohqd}

__all__ = ["METHODS"]
