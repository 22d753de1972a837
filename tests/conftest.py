import os

import pytest
from hypothesis import HealthCheck, settings

# numba compiles kernels on first use; a deadline would count that against the first example.
settings.register_profile("default", deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
# CI: same examples every run, so a red build is reproducible.
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "default")


@pytest.fixture
def own_registry(monkeypatch):
    """A copy of the reward registry for one test: what the test registers disappears after it."""
    from paretohqd.rewards import registry

    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))


@pytest.fixture
def tiny_rewards(own_registry):
    """The tiny run's test reward ("test-a"), registered for one test."""
    from tiny_runs import register_tiny_rewards

    register_tiny_rewards()
