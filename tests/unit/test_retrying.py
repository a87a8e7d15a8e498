"""The retry policy: which failures are repeated, for which operations, and how long it waits."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError, ReadTimeoutError
from hypothesis import given, settings
from hypothesis import strategies as st

from controller.aws import retrying
from controller.aws.retrying import Failure, backoff, classify, decide, retryable


@pytest.mark.parametrize(
    ("status", "code", "exception", "failure"),
    [
        (200, "", None, None),
        (400, "ThrottlingException", None, Failure.THROTTLED),
        (400, "Throttling", None, Failure.THROTTLED),  # the query protocols' spelling
        (429, "TooManyRequestsException", None, Failure.THROTTLED),
        (500, "InternalFailure", None, Failure.TRANSIENT),
        (503, "ServiceUnavailable", None, Failure.TRANSIENT),
        (400, "RequestTimeoutException", None, Failure.TRANSIENT),
        (400, "ValidationException", None, Failure.FINAL),
        (400, "ResourceLimitExceeded", None, Failure.FINAL),  # a quota, not a throttle
        (None, "", ConnectionClosedError(endpoint_url="u"), Failure.CONNECTION),
        (None, "", EndpointConnectionError(endpoint_url="u"), Failure.CONNECTION),
        (None, "", ReadTimeoutError(endpoint_url="u"), Failure.CONNECTION),
        (None, "", ValueError("a bug"), Failure.FINAL),
    ],
)
def test_classify(
    status: int | None, code: str, exception: Exception | None, failure: Failure | None
) -> None:
    assert classify(status, code, exception) is failure


def test_a_throttle_is_repeated_for_every_call_it_was_refused_before_acting() -> None:
    for operation in ("DescribeEndpoint", "CreateEndpoint", "UpdateEndpoint", "DeleteEndpoint"):
        assert retryable(operation, Failure.THROTTLED)


@pytest.mark.parametrize("failure", [Failure.TRANSIENT, Failure.CONNECTION])
def test_ambiguous_failures_repeat_reads_and_idempotent_writes_only(failure: Failure) -> None:
    for read in ("DescribeEndpoint", "ListEndpoints", "GetResources", "ListModelPackages"):
        assert retryable(read, failure)
    for write in ("CreateModel", "CreateEndpointConfig", "AddTags", "DeleteModel"):
        assert retryable(write, failure)
    # May have taken effect and a repeat is not harmless: the reconciler re-reads instead.
    for write in ("CreateEndpoint", "UpdateEndpoint", "UpdateEndpointWeightsAndCapacities"):
        assert not retryable(write, failure)
    assert not retryable("DeleteEndpoint", failure)


def test_a_client_error_is_never_repeated() -> None:
    assert not retryable("DescribeEndpoint", Failure.FINAL)


@settings(derandomize=True, max_examples=200)
@given(st.integers(min_value=1, max_value=200), st.floats(min_value=0.0, max_value=0.9999))
def test_backoff_is_full_jitter_under_a_doubling_ceiling(attempt: int, draw: float) -> None:
    ceiling = min(retrying.MAX_DELAY, retrying.BASE_DELAY * 2 ** (attempt - 1))
    delay = backoff(attempt, draw)
    assert 0.0 <= delay < ceiling + 1e-12
    assert delay == pytest.approx(ceiling * draw)


def test_backoff_ceilings() -> None:
    ceilings = [backoff(n, 1.0) for n in range(1, 9)]
    assert ceilings == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0])


@settings(derandomize=True, max_examples=200)
@given(
    st.sampled_from(["DescribeEndpoint", "CreateEndpoint", "CreateModel", "UpdateEndpoint"]),
    st.sampled_from(list(Failure)),
    st.integers(min_value=1, max_value=12),
    st.floats(min_value=0.0, max_value=30.0),
    st.integers(min_value=0, max_value=2**32),
)
def test_decide_retries_only_what_is_safe_within_attempts_and_deadline(
    operation: str, failure: Failure, attempt: int, remaining: float, seed: int
) -> None:
    decision = decide(
        operation, failure, attempt, max_attempts=8, remaining=remaining, rng=random.Random(seed)
    )
    if decision.retry:
        assert retryable(operation, failure) and attempt < 8
        assert 0.0 <= decision.delay < remaining
        assert decision.delay <= retrying.MAX_DELAY
    else:
        assert decision.delay == 0.0
    if decision.out_of_time:
        assert not decision.retry and retryable(operation, failure)


def test_at_most_max_attempts() -> None:
    rng = random.Random(0)
    attempts = 1
    while decide(
        "DescribeEndpoint", Failure.THROTTLED, attempts, max_attempts=8, remaining=1e9, rng=rng
    ).retry:
        attempts += 1
        assert attempts <= 8
    assert attempts == 8


@pytest.mark.parametrize("attempt", [1, 3, 6])
def test_a_steady_throttle_waits_a_share_of_the_backoff_other_failures_the_whole(
    attempt: int,
) -> None:
    def delay(failure: Failure, steady: bool) -> float:
        rng = random.Random(7)  # the same draw for both
        return decide(
            "DescribeEndpoint",
            failure,
            attempt,
            max_attempts=8,
            remaining=1e9,
            rng=rng,
            steady_throttling=steady,
        ).delay

    full = delay(Failure.THROTTLED, steady=False)
    assert full > 0
    assert delay(Failure.THROTTLED, steady=True) == pytest.approx(
        full * retrying.STEADY_THROTTLE_SCALE
    )
    assert delay(Failure.TRANSIENT, steady=True) == delay(Failure.TRANSIENT, steady=False)
