"""The one PID controller of the project (windowed integral and derivative)."""

from __future__ import annotations

from collections import deque

import numpy as np

from controllers.controller_config import PIDConfig


class PID:
    """PID over a sliding window of errors: I = mean of the window, D = last difference.

    The window bounds the integral, so a long stop cannot wind it up. It starts full of zeros,
    or empty (`prefill_window: false`), then the first ticks average the errors seen so far.
    """

    def __init__(self, config: PIDConfig) -> None:
        self.config = config
        self._errors: deque[float] = deque(maxlen=config.window)
        self.reset()

    def reset(self) -> None:
        self._errors.clear()
        if self.config.prefill_window:
            self._errors.extend([0.0] * self.config.window)

    def step(self, error: float) -> float:
        self._errors.append(float(error))
        integral = float(np.mean(self._errors))
        derivative = self._errors[-1] - self._errors[-2] if len(self._errors) >= 2 else 0.0
        c = self.config
        return c.k_p * error + c.k_i * integral + c.k_d * derivative
