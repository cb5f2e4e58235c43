"""The per-endpoint gate: a concurrency cap and a circuit breaker, per process."""

from __future__ import annotations

import pytest

from app.outbox.gate import Defer, EndpointGate


def test_a_busy_endpoint_defers_past_its_cap_and_others_are_not_affected():
    gate = EndpointGate(concurrency=2)
    with gate.enter("https://slow"), gate.enter("https://slow"):
        with pytest.raises(Defer, match="busy"):
            gate.enter("https://slow").__enter__()
        with gate.enter("https://fast"):  # another endpoint has its own slots
            pass
    with gate.enter("https://slow"):  # slots come back
        pass


def test_repeated_failures_open_the_circuit_then_one_trial_closes_it():
    gate = EndpointGate(concurrency=4, threshold=3, cooldown=0.0)
    for _ in range(2):
        gate.failed("https://down")
    assert not gate.is_open("https://down")
    gate.failed("https://down")
    gate._endpoints["https://down"].open_until = float("inf")  # as if the cool-down ran
    with pytest.raises(Defer, match="circuit is open"):
        gate.enter("https://down").__enter__()
    gate._endpoints["https://down"].open_until = 0.0  # the cool-down passed: half-open
    with gate.enter("https://down"):
        with pytest.raises(Defer, match="busy"):  # one trial at a time while half-open
            gate.enter("https://down").__enter__()
        gate.succeeded("https://down")
    assert "https://down" not in gate._endpoints  # closed and forgotten


def test_the_cool_down_doubles_while_the_endpoint_keeps_failing():
    gate = EndpointGate(threshold=1, cooldown=5.0, max_cooldown=12.0)
    cooldowns = []
    for _ in range(4):
        gate.failed("https://down")
        cooldowns.append(gate._endpoints["https://down"].cooldown)
    assert cooldowns == [5.0, 10.0, 12.0, 12.0]
