"""Reconnect delays: exponential with jitter, capped; a long fixed wait when credentials are refused."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    initial_s: float = 0.5
    max_s: float = 30.0
    factor: float = 2.0
    jitter: float = 0.2
    """Each delay is scaled by a random factor in [1 - jitter, 1 + jitter]: cameras do not retry in step."""
    unauthorized_s: float = 60.0
    """Wait after the camera refused the credentials: retrying sooner only floods its log (and may lock
    the account)."""

    def delay(self, failures: int) -> float:
        """Delay before the next attempt after ``failures`` consecutive failures (1 = first failure)."""
        base = min(self.max_s, self.initial_s * self.factor ** max(failures - 1, 0))
        return min(self.max_s, base * random.uniform(1 - self.jitter, 1 + self.jitter))

    def unauthorized_delay(self) -> float:
        return self.unauthorized_s * random.uniform(1, 1 + self.jitter)
