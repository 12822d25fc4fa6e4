"""The action refiner (AutoMoT+), as truncated diffusion in the manner of DiffusionDrive.

    anchor  = the AE's plan: 6 waypoints + 20 route points, [B, 26, 2] ego m
    x_T     = DDIM.add_noise(anchor / scale, noise, T)        T = truncation_step (e.g. 50 of 1000)
    x_t-1   = DDIM.step(anchor + denoiser(x_t, anchor, t, cond), t, x_t)   `inference_steps` steps, T -> 0
    refined = x_0 * scale                                       replaces the plan's waypoints and route

The denoiser predicts the clean plan (DDIM prediction_type 'sample') as a correction of the
anchor; it reads the noisy points and the anchor (each point a token: both coordinates, which
point it is, the timestep) and attends to the AE's final hidden states of its BEV, decision, route
and waypoint tokens. Training noises the anchor at t ~ U[0, T] and regresses the expert's plan
(L1), with the network frozen: it learns the correction from what the AE proposes to what the
expert drove. The correction starts at zero, so an untrained refiner returns the anchor.

Why the anchor is an input and the residual is taken from it, not from x_t: a refiner that only
sees x_t must take the noise back out, and where it has not learned to it passes the noise on.
The first version did: with the plan noised to step 50 (0.22 m at 1 m a unit) its open-loop L2
matched the network's, but the fixed inference noise bent every planned route the same way, and
in closed loop the car left its lane on 14 of 17 routes.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import DDIMScheduler
from safetensors.torch import load_file, save_file
from torch import nn

from core.atomic_files import atomic_write_json
from core.typed_config import from_dict
from planner.automot.heads import AEOutputs
from planner.automot.refiner_config import RefinerConfig
from planner.automot.sizes import SizeSpec

REFINER_CONFIG = "refiner_config.json"
REFINER_WEIGHTS = "refiner.safetensors"


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """[B] integer timesteps -> [B, dim] sinusoidal features."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class RefinerBlock(nn.Module):
    """The plan tokens attend jointly to the AE's states and to each other in one attention (as the
    AE attends to the UE's cache), then an MLP. The AE states' keys/values come from `memory`,
    computed once per plan rather than once per denoising step: at `mini` the refiner's cost is
    its op count, not its arithmetic."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.memory_kv = nn.Linear(width, 2 * width)
        self.proj = nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def memory(self, cond: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cond [B, Tc, w] -> keys, values [B, heads, Tc, w / heads]."""
        b, t, _ = cond.shape
        keys, values = self.memory_kv(cond).view(b, t, 2, self.heads, -1).permute(2, 0, 3, 1, 4)
        return keys, values

    def forward(self, x: torch.Tensor, memory: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """x [B, 26, w] plan tokens -> [B, 26, w]."""
        b, t, w = x.shape
        query, keys, values = self.qkv(self.norm1(x)).view(b, t, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        keys, values = torch.cat([memory[0], keys], dim=2), torch.cat([memory[1], values], dim=2)
        attended = F.scaled_dot_product_attention(query, keys, values)  # [B, heads, 26, d]
        x = x + self.proj(attended.transpose(1, 2).reshape(b, t, w))
        return x + self.mlp(self.norm2(x))


class ActionRefiner(nn.Module):
    def __init__(self, spec: SizeSpec, config: RefinerConfig) -> None:
        super().__init__()
        self.spec, self.config = spec, config
        w = config.width
        self.points = spec.num_waypoints + spec.num_route_points
        self.point_in = nn.Linear(4, w)  # a point's noisy and anchor coordinates
        self.point_embed = nn.Embedding(self.points, w)  # which waypoint / route point a token is
        self.time_mlp = nn.Sequential(nn.Linear(w, w), nn.SiLU(), nn.Linear(w, w))
        self.cond_in = nn.Sequential(nn.LayerNorm(spec.text.hidden_size), nn.Linear(spec.text.hidden_size, w))
        self.blocks = nn.ModuleList(RefinerBlock(w, config.heads) for _ in range(config.layers))
        self.out = nn.Sequential(nn.LayerNorm(w), nn.Linear(w, 2))
        # The correction starts at zero (as DiT's adaLN-zero): an untrained refiner returns its
        # input, and training moves it only as far as the expert's plans pull it.
        nn.init.zeros_(self.out[1].weight)
        nn.init.zeros_(self.out[1].bias)
        self.scheduler = DDIMScheduler(num_train_timesteps=config.train_timesteps, beta_schedule="scaled_linear",
                                       prediction_type="sample", clip_sample=False, set_alpha_to_one=True)
        spacing = config.truncation_step // config.inference_steps
        # DDIM steps from t to t - train_timesteps // num_inference_steps: make that the truncated spacing.
        self.scheduler.set_timesteps(config.train_timesteps // spacing)
        # e.g. [50, 25]: the anchor noised to the truncation step, the last step's x0 estimate is the plan
        self.inference_timesteps = [config.truncation_step - spacing * k for k in range(config.inference_steps)]
        # x_T = add_noise(anchor, noise, T) is sqrt(abar_T) anchor + sqrt(1 - abar_T) noise, with the
        # inference noise fixed by the seed: both taken once from the scheduler's table, because the
        # scheduler's per-call bookkeeping costs more than the arithmetic at this size.
        abar = self.scheduler.alphas_cumprod[config.truncation_step]
        self.noise_keep, self.noise_mix = float(abar.sqrt()), float((1 - abar).sqrt())
        self._noise: dict[tuple, torch.Tensor] = {}  # (shape, device, dtype) -> the seeded noise
        # The steps' sinusoidal features hold no weights, so they are computed once, not every plan.
        self.register_buffer("inference_embedding", timestep_embedding(torch.tensor(self.inference_timesteps), w),
                             persistent=False)  # [S, w]
        self.step_coefficients = self._ddim_step_coefficients()
        self._step_inputs: tuple[tuple, torch.Tensor] | None = None  # (weights' versions, storage) -> [S, 26, w]

    def _ddim_step_coefficients(self) -> list[tuple[float, float]]:
        """Per inference step but the last, (a, b) with DDIM.step(x0, t, x).prev_sample = a x0 + b x.

        With eta 0, no clipping and no thresholding the DDIM update is linear in the clean estimate
        and the noisy sample; both coefficients are read off diffusers' own step (on x0 = 1, x = 0 and
        x0 = 0, x = 1), so the schedule stays diffusers' while a plan skips its per-call bookkeeping."""
        one, zero = torch.ones(1), torch.zeros(1)
        coefficients = []
        for t in self.inference_timesteps[:-1]:
            a = float(self.scheduler.step(one, t, zero).prev_sample)
            b = float(self.scheduler.step(zero, t, one).prev_sample)
            if float(self.scheduler.step(zero, t, zero).prev_sample) != 0.0:
                raise ValueError("the DDIM step is not linear in (x0, x_t): eta, clipping or thresholding is on")
            coefficients.append((a, b))
        return coefficients

    # --- pieces ---------------------------------------------------------------------------
    def conditioning(self, out: AEOutputs) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per block, the keys/values [B, heads, Tc, d] of the AE's final hidden
        states of its BEV and planning tokens (the same for every denoising step)."""
        if out.hidden is None:
            raise ValueError("the refiner needs the AE's hidden states (AEOutputs.hidden)")
        cond = self.cond_in(out.hidden.float())  # [B, Tc, w]
        return [block.memory(cond) for block in self.blocks]

    def anchor(self, out: AEOutputs) -> torch.Tensor:
        """[B, 26, 2] the AE's plan, scaled to unit range."""
        return torch.cat([out.waypoints.float(), out.route.float()], dim=1) / self.config.coordinate_scale_m

    def time_features(self, t: torch.Tensor) -> torch.Tensor:
        """[N] integer timesteps -> [N, w]."""
        return self.time_mlp(timestep_embedding(t, self.config.width))

    def denoise(self, x: torch.Tensor, anchor: torch.Tensor, time: torch.Tensor,
                cond: list[tuple[torch.Tensor, torch.Tensor]]) -> torch.Tensor:
        """x [B, 26, 2] noisy scaled points, anchor [B, 26, 2] scaled, time [B or 1, w] from
        `time_features`, cond from `conditioning` -> [B, 26, 2] clean estimate."""
        h = self.point_in(torch.cat([x, anchor], dim=-1)) + self.point_embed.weight[None] + time[:, None]
        return self.correct(h, anchor, cond)

    def correct(self, h: torch.Tensor, anchor: torch.Tensor, cond: list[tuple[torch.Tensor, torch.Tensor]]
                ) -> torch.Tensor:
        """h [B, 26, w] plan tokens -> [B, 26, 2] the anchor plus the blocks' correction."""
        for block, memory in zip(self.blocks, cond, strict=True):
            h = block(h, memory)
        return anchor + self.out(h)  # a correction of the anchor, which is already close

    def split(self, points: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, 26, 2] scaled -> (waypoints [B, 6, 2], route [B, 20, 2]) in metres."""
        metres = points * self.config.coordinate_scale_m
        return metres[:, : self.spec.num_waypoints], metres[:, self.spec.num_waypoints:]

    # --- inference and training -----------------------------------------------------------
    def refine(self, out: AEOutputs) -> AEOutputs:
        """The refined plan: `out` with its waypoints and route replaced (the rest unchanged)."""
        cond = self.conditioning(out)
        anchor = self.anchor(out)
        x = self.noise_keep * anchor + self.noise_mix * self.inference_noise(anchor)  # add_noise at T
        step_inputs = self.step_inputs()  # [S, 26, w]
        last = len(self.inference_timesteps) - 1
        for k in range(len(self.inference_timesteps)):
            # as denoise(x, anchor, time_features(t_k), cond), with the weight-only terms precomputed
            h = F.linear(torch.cat([x, anchor], dim=-1), self.point_in.weight) + step_inputs[k]
            clean = self.correct(h, anchor, cond)
            if k < last:  # the last step's x0 estimate is the plan: with prediction_type 'sample' it is
                a, b = self.step_coefficients[k]  # the denoiser's output, so no step after it
                x = a * clean + b * x  # DDIM.step(clean, t_k, x).prev_sample
        waypoints, route = self.split(clean)
        steps = torch.cat([waypoints[:, :1], waypoints[:, 1:] - waypoints[:, :-1]], dim=1)
        return replace(out, waypoints=waypoints.to(out.waypoints.dtype), route=route.to(out.route.dtype),
                       waypoint_steps=steps.to(out.waypoint_steps.dtype))

    def step_inputs(self) -> torch.Tensor:
        """[S, 26, w] per inference step, what the plan tokens get on top of point_in's weights: its
        bias, the point embedding and the step's time features. They depend on weights only, so a
        plan reuses them until a weight changes (an optimiser step or a load bumps its version)."""
        parts = (self.point_in.bias, self.point_embed.weight, *self.time_mlp.parameters())
        # a weight's version counts its in-place changes; its storage changes on .to(device / dtype)
        key = tuple((p._version, p.data_ptr(), p.dtype) for p in parts) + (torch.is_grad_enabled(),)
        if self._step_inputs is not None and self._step_inputs[0] == key:
            return self._step_inputs[1]
        times = self.time_mlp(self.inference_embedding)  # [S, w], as time_features(inference_timesteps)
        inputs = self.point_in.bias + self.point_embed.weight[None] + times[:, None]
        if not torch.is_grad_enabled():  # a tensor that carries a graph is not kept past its plan
            self._step_inputs = (key, inputs)
        return inputs

    def inference_noise(self, like: torch.Tensor) -> torch.Tensor:
        """The fixed inference noise (`config.seed`) of `like`'s shape, drawn once per shape."""
        key = (tuple(like.shape), like.device, like.dtype)
        if key not in self._noise:
            gen = torch.Generator(device=like.device).manual_seed(self.config.seed)
            self._noise[key] = torch.randn(like.shape, generator=gen, device=like.device, dtype=like.dtype)
        return self._noise[key]

    def loss(self, out: AEOutputs, waypoints: torch.Tensor, route: torch.Tensor) -> torch.Tensor:
        """L1 between the denoised anchor (noised at t ~ U[0, truncation_step]) and the expert's plan."""
        cond = self.conditioning(out)
        anchor = self.anchor(out)
        t = torch.randint(0, self.config.truncation_step + 1, (anchor.shape[0],), device=anchor.device)
        x = self.scheduler.add_noise(anchor, torch.randn_like(anchor), t)
        target = torch.cat([waypoints.float(), route.float()], dim=1) / self.config.coordinate_scale_m
        return (self.denoise(x, anchor, self.time_features(t), cond) - target).abs().mean() * self.config.coordinate_scale_m

    # --- files --------------------------------------------------------------------------
    def save(self, folder: str | Path, state: dict[str, torch.Tensor] | None = None) -> Path:
        """Weights + config into `folder`; `state`: the weights when they are not this module's own
        (a sharded run's gathered state)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{REFINER_WEIGHTS}.tmp"
        state = self.state_dict() if state is None else state
        save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(tmp))
        tmp.replace(folder / REFINER_WEIGHTS)
        atomic_write_json(folder / REFINER_CONFIG, {"size": self.spec.name,
                                                    "refiner": {**asdict(self.config), "enabled": False,
                                                                "checkpoint": None}})
        return folder


def load_refiner(folder: str | Path, spec: SizeSpec, overrides: RefinerConfig | None = None) -> ActionRefiner:
    """A saved refiner for a network of size `spec`; `overrides` may change inference settings only."""
    folder = Path(folder)
    config_file, weights = folder / REFINER_CONFIG, folder / REFINER_WEIGHTS
    if not config_file.is_file() or not weights.is_file():
        raise FileNotFoundError(f"refiner checkpoint {folder}: needs {REFINER_CONFIG} and {REFINER_WEIGHTS}")
    saved = json.loads(config_file.read_text())
    if saved.get("size") != spec.name:
        raise ValueError(f"refiner checkpoint {folder} was trained for size '{saved.get('size')}', "
                         f"the network is '{spec.name}'")
    config = from_dict(RefinerConfig, saved["refiner"])
    if overrides is not None:
        config = replace(config, inference_steps=overrides.inference_steps, seed=overrides.seed)
    refiner = ActionRefiner(spec, config)
    refiner.load_state_dict(load_file(str(weights)), strict=True)
    return refiner.eval()
