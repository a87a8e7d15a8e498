"""The controller's retry policy for AWS calls: which failed attempts to repeat, and when.

botocore's own retries are switched off (standard mode, one attempt) and this policy answers
botocore's `needs-retry` event instead, for three reasons:

- Safety. botocore repeats any 5xx or dropped connection, writes included, but a write that
  failed that way may have taken effect (AWS committed it and the answer was lost). Only calls
  whose repeat is harmless are repeated here: reads, and the writes listed in IDEMPOTENT_WRITES.
  Any other write's ambiguous failure goes back to the reconciler, which re-reads and re-decides.
  A throttle is repeated for every call: AWS refused the request before acting on it.
- Convergence. botocore's standard mode stops retrying once its retry quota (500 tokens, 5 per
  retry) drains, which a sustained 35% failure share does in a few hundred calls; its adaptive
  mode slows its send rate after every throttle. Neither fits a controller that must finish a
  pass; the pace is kept by `ratelimit.AdaptiveRate` instead, which slows down only when slowing
  down helps.
- Bounds. Attempts are bounded, backoff is short, full-jitter exponential, and never outlasts the
  command's deadline.

Everything here but the botocore hook in `clients.py` is pure: operations, codes and numbers in,
decisions out.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass

from botocore.exceptions import ConnectionError as BotocoreConnectionError
from botocore.exceptions import HTTPClientError
from botocore.retries.standard import ThrottledRetryableChecker, TransientRetryableChecker

# botocore's own lists are the truth for what throttling and transient failures look like.
THROTTLING_CODES = frozenset(vars(ThrottledRetryableChecker)["_THROTTLED_ERROR_CODES"])
TRANSIENT_CODES = frozenset(vars(TransientRetryableChecker)["_TRANSIENT_ERROR_CODES"])
# What botocore raises when a request got no answer (dropped, refused, timed out).
NO_ANSWER = (BotocoreConnectionError, HTTPClientError)
TRANSIENT_STATUSES = frozenset(vars(TransientRetryableChecker)["_TRANSIENT_STATUS_CODES"])
READ_PREFIXES = ("Describe", "List", "Get", "Search")

IDEMPOTENT_WRITES = frozenset(
    {
        # The controller names Models and EndpointConfigs by a hash of their content, so a
        # repeat either creates the same thing or meets "Cannot create already existing ...",
        # which `applying` takes as done (tests/e2e/test_faults.py proves it with after-commit
        # faults).
        "CreateModel",
        "CreateEndpointConfig",
        # The same content-hashed names: a repeat of a delete that took effect meets "Could not
        # find ...", which `applying` takes as done.
        "DeleteModel",
        "DeleteEndpointConfig",
        # Tag writes set or remove the same keys to the same values, whatever happened before.
        "AddTags",
        "DeleteTags",
        # Application Auto Scaling's registrations and CloudWatch's alarms are upserts.
        "RegisterScalableTarget",
        "PutScalingPolicy",
        "PutMetricAlarm",
    }
)
"""Writes whose repeat after an ambiguous failure (5xx, dropped connection) changes nothing
more than one success would. Not here, on purpose: CreateEndpoint (a repeat of a committed
create answers "already existing" for a mutable endpoint), UpdateEndpoint and
UpdateEndpointWeightsAndCapacities (a repeat meets the update in progress or starts another
deployment), DeleteEndpoint (a repeat meets the endpoint in Deleting)."""

BASE_DELAY = 0.1  # seconds: the upper bound of the first backoff, doubled each attempt
MAX_DELAY = 5.0  # the upper bound of any one backoff
MAX_ATTEMPTS = 8  # attempts in all, the first included
# A throttle that slowing down was shown not to lower (`AdaptiveRate.steady_throttling`) waits
# this share of the usual backoff: the refusal does not follow the sender's rate, so a long wait
# buys nothing. The delay stays jittered and growing: AWS still refused the request.
STEADY_THROTTLE_SCALE = 0.1


class Failure(enum.Enum):
    """What an attempt's failure says about whether the request took effect."""

    THROTTLED = "throttled"  # refused before it acted
    TRANSIENT = "transient"  # 5xx, request timeout: may have acted
    CONNECTION = "connection"  # no answer at all: may have acted
    FINAL = "final"  # a client error (validation, not found, ...): repeating cannot help


def classify(status: int | None, code: str, exception: Exception | None = None) -> Failure | None:
    """The failure an attempt ended in, or None when it succeeded."""
    if exception is not None:
        if isinstance(exception, NO_ANSWER):
            return Failure.CONNECTION
        return Failure.FINAL
    if code in THROTTLING_CODES:
        return Failure.THROTTLED
    if code in TRANSIENT_CODES or status in TRANSIENT_STATUSES:
        return Failure.TRANSIENT
    if status is not None and status >= 300:
        return Failure.FINAL
    return None


def is_read(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES)


def retryable(operation: str, failure: Failure) -> bool:
    """True when repeating `operation` after `failure` is both useful and harmless."""
    if failure is Failure.FINAL:
        return False
    if failure is Failure.THROTTLED:
        return True
    return is_read(operation) or operation in IDEMPOTENT_WRITES


def backoff(attempt: int, draw: float) -> float:
    """Full jitter: a delay drawn uniformly from [0, min(MAX_DELAY, BASE_DELAY * 2**(attempt-1))).

    `attempt` is the number of attempts made so far (1 after the first), `draw` a number in
    [0, 1). Full jitter spreads the retries of many workers hit by the same throttle burst over
    the whole window instead of bunching them at its end.
    """
    ceiling = min(MAX_DELAY, BASE_DELAY * 2.0 ** min(attempt - 1, 30))
    return ceiling * draw


@dataclass(frozen=True)
class Decision:
    """The answer to one failed attempt: wait `delay` seconds and repeat, or stop."""

    retry: bool
    delay: float = 0.0
    out_of_time: bool = False  # retryable, but the backoff would end after the deadline


def decide(
    operation: str,
    failure: Failure,
    attempt: int,
    *,
    max_attempts: int,
    remaining: float,
    rng: random.Random,
    steady_throttling: bool = False,
) -> Decision:
    """Repeat or stop: retryable, attempts left, and the backoff fits before the deadline.

    `steady_throttling`: the account's throttling was shown not to follow the sender's rate, so
    a throttle waits STEADY_THROTTLE_SCALE of the backoff (other failures wait the whole).
    """
    if not retryable(operation, failure) or attempt >= max_attempts:
        return Decision(False)
    delay = backoff(attempt, rng.random())
    if steady_throttling and failure is Failure.THROTTLED:
        delay *= STEADY_THROTTLE_SCALE
    if delay >= remaining:
        return Decision(False, out_of_time=True)
    return Decision(True, delay)
