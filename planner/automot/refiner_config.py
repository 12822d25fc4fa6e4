"""The action refiner's settings (AutoMoT+): a truncated-diffusion denoiser on top of the AE's plan."""

from __future__ import annotations

from dataclasses import dataclass

from core.typed_config import require


@dataclass(frozen=True)
class RefinerConfig:
    enabled: bool = False  # off unless it improves the shipped model's closed-loop score (README)
    checkpoint: str | None = None  # folder written by `automot train` with stage: refiner
    # Denoiser: a small transformer over the plan's points, cross-attending to the AE's hidden
    # states (its BEV, decision, route and waypoint tokens).
    width: int = 64
    layers: int = 2
    heads: int = 4
    # Truncated diffusion (DiffusionDrive): the anchor (the AE's plan) is noised only up to
    # `truncation_step` of the `train_timesteps`-step DDIM schedule and denoised in `inference_steps`.
    train_timesteps: int = 1000
    truncation_step: int = 50
    inference_steps: int = 2
    coordinate_scale_m: float = 10.0  # plan points are divided by this before noising (unit-scale noise)
    seed: int = 0  # the inference noise (fixed: a plan is a function of the observation)

    def __post_init__(self) -> None:
        require(not self.enabled or bool(self.checkpoint), "refiner.enabled needs refiner.checkpoint")
        require(self.width % self.heads == 0, "refiner.width must be a multiple of refiner.heads")
        require(1 <= self.inference_steps <= self.truncation_step < self.train_timesteps,
                "refiner: need 1 <= inference_steps <= truncation_step < train_timesteps")
        require(self.truncation_step % self.inference_steps == 0,
                "refiner.truncation_step must be a multiple of refiner.inference_steps")
        require(self.train_timesteps % (self.truncation_step // self.inference_steps) == 0,
                "refiner: the step spacing (truncation_step / inference_steps) must divide train_timesteps")
        require(self.coordinate_scale_m > 0 and self.layers >= 1, "refiner: positive scale, >= 1 layer")
