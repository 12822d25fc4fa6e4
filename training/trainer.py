"""The training loop of `automot train`: data -> network -> AdamW, checkpoints, validation.

    result = train(load_train_config("configs/train_embedded_mini.yaml"), resume=True)

One process, or one per device under torchrun (training/distributed.py). Every rank builds the
same network from the same seed, loads the same weights, and reads its own slice of each global
batch (training/sampler.py); DDP or FSDP averages the gradients. Rank 0 alone logs and writes.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from core.typed_config import ConfigError, to_dict
from data.dataset import DrivingDataset, split_by_route
from planner.automot.build import build_network, resolve_tokenizer
from planner.automot.checkpoint import CheckpointError, checkpoint_kind, load_checkpoint
from planner.automot.decisions import DecisionCodec
from planner.automot.model_config import ModelConfig
from planner.automot.network import AutoMoTNetwork
from planner.automot.refiner import ActionRefiner
from planner.automot.sizes import get_size
from planner.automot.understanding import UEInputBuilder, build_image_processor
from sensors.sensor_config import SensorConfig
from training import checkpoints
from training.batches import BatchMaker, TrainBatch
from training.distributed import (
    DistEnv,
    barrier,
    close_process_group,
    device_for,
    dist_env,
    full_model_state,
    full_optimizer_state,
    init_process_group,
    mean_across_ranks,
    unwrap,
    wrap,
)
from training.logs import TrainLogger
from training.open_loop import OpenLoopMetrics
from training.sampler import ResumableBatchSampler
from training.stages import network_stage, outputs_of, refiner_stage
from training.train_config import PartsConfig, SamplingConfig, TrainConfig


class NonFiniteLoss(RuntimeError):
    """A NaN / inf loss: the run stops (a checkpoint written after it would be poisoned)."""


class TrainingDataError(ValueError):
    pass


@dataclass
class TrainResult:
    out: Path
    step: int
    checkpoint: Path | None  # the last step folder (its model/ is a loadable checkpoint)
    validation: dict[str, float]


# --- setup -------------------------------------------------------------------------------------
def ue_has_pretrained_weights(config: TrainConfig) -> bool:
    """Real Qwen3-VL weights (a local folder or the official release) behind the UE."""
    if config.model.qwen_path:
        return True
    ckpt = config.init.checkpoint
    return bool(ckpt) and checkpoint_kind(ckpt) == "official"


def resolve_parts(model: ModelConfig, parts: PartsConfig, pretrained_ue: bool) -> ModelConfig:
    """PartsConfig -> the model's freeze flags (stored with every checkpoint)."""
    def frozen(choice: str, auto: bool | None) -> bool | None:
        return {"train": False, "freeze": True}.get(choice, auto)

    return replace(model, freeze_understanding=frozen(parts.understanding, pretrained_ue),
                   freeze_vision=frozen(parts.vision, pretrained_ue),
                   freeze_bev_encoder=frozen(parts.bev_encoder, model.freeze_bev_encoder))


def build_datasets(config: TrainConfig) -> tuple[DrivingDataset, DrivingDataset | None]:
    d = config.data
    if not d.roots:
        raise ConfigError("data.roots is empty: name at least one dataset folder (PDM-Lite layout)")
    for root in (*d.roots, *d.val_roots):
        if not Path(root).exists():
            raise TrainingDataError(f"data folder {root} does not exist")
    try:
        train_roots, val_roots = train_val_folders(config)
        train_ds = driving_dataset(train_roots, config)
        val_ds = driving_dataset(val_roots, config) if val_roots else None
    except FileNotFoundError as exc:
        raise TrainingDataError(str(exc)) from None
    if len(train_ds) == 0:
        raise TrainingDataError(f"no training samples in {list(d.roots)} (left out: {train_ds.skipped})")
    return train_ds, val_ds


def train_val_folders(config: TrainConfig) -> tuple[list[Path], list[Path]]:
    """(training, validation) folders: `data.val_roots` if given, else the `val_fraction` split."""
    d = config.data
    if d.val_roots:
        return [Path(r) for r in d.roots], [Path(r) for r in d.val_roots]
    return split_by_route(d.roots, d.val_fraction, d.split_seed)


def driving_dataset(roots: list, config: TrainConfig) -> DrivingDataset:
    """The samples of `roots` (dataset or route folders) as the network is trained on them."""
    sensors = SensorConfig()
    size = (sensors.model_image_width, sensors.model_image_height)  # what the agent's Observation holds
    return DrivingDataset(roots, image_size=size, sensors=sensors, config=config.data.dataset)


def sample_weights(ds: DrivingDataset, sampling: SamplingConfig) -> np.ndarray | None:
    """Per-sample draw weights: set-off samples (at rest now, moving a second later) up-weighted."""
    if sampling.set_off_weight == 1.0:
        return None
    speeds = ds.sample_speeds(sampling.set_off_within_s)
    set_off = (speeds[:, 0] < sampling.set_off_speed_mps) & (speeds[:, 1] - speeds[:, 0] > sampling.set_off_gain_mps)
    return np.where(set_off, sampling.set_off_weight, 1.0)


def lr_factor(step: int, config: TrainConfig) -> float:
    """Linear warm-up to 1, then cosine down to min_lr / lr at the last step."""
    o = config.optim
    if step < o.warmup_steps:
        return (step + 1) / o.warmup_steps
    span = max(1, o.steps - o.warmup_steps)
    progress = min(1.0, (step - o.warmup_steps) / span)
    floor = o.min_lr / o.lr
    return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress))


def param_groups(network: torch.nn.Module, weight_decay: float) -> list[dict]:
    decay, no_decay = [], []
    for name, p in network.named_parameters():
        if not p.requires_grad:
            continue
        (decay if p.ndim >= 2 and "embed" not in name else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    if precision == "bf16" or (precision == "auto" and device.type == "cuda"):
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def batch_maker(network: AutoMoTNetwork, config: ModelConfig, tokenizer) -> tuple[BatchMaker, DecisionCodec]:
    spec = network.spec
    processor = build_image_processor(spec, config.qwen_path)
    builder = UEInputBuilder(spec, config, tokenizer, processor, network.understanding.model.get_rope_index)
    codec = DecisionCodec(tokenizer, spec.num_decision_queries, spec.num_decision_words,
                          config.prompt.decision_separator)
    return BatchMaker(network, builder, codec), codec


def _loader(ds, maker: BatchMaker, workers: int, **kwargs) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(ds, num_workers=workers, collate_fn=maker, persistent_workers=False,
                                       prefetch_factor=4 if workers else None, **kwargs)


# --- validation --------------------------------------------------------------------------------
def validate(module: torch.nn.Module, val_ds: DrivingDataset | None, maker: BatchMaker, codec: DecisionCodec,
             config: TrainConfig, env: DistEnv, device: torch.device) -> dict[str, float]:
    """Open-loop metrics and losses on the held-out routes (each rank its share, averaged)."""
    if val_ds is None or len(val_ds) == 0:
        return {}
    n = min(len(val_ds), config.data.val_max_samples)
    picks = np.linspace(0, len(val_ds) - 1, n).round().astype(int)
    per_rank = len(picks) // env.world
    if per_rank == 0:
        return {}
    mine = picks[env.rank * per_rank:(env.rank + 1) * per_rank].tolist()  # equal shares: FSDP needs equal steps
    loader = _loader(torch.utils.data.Subset(val_ds, mine), maker, config.data.workers,
                     batch_size=config.optim.batch_size)
    metrics, base_metrics = OpenLoopMetrics(), OpenLoopMetrics()
    sums: dict[str, float] = {}
    batches = 0
    was_training = module.training
    module.eval()
    with torch.no_grad():
        for batch in loader:
            b = batch.to(device)
            with autocast(config.run.precision, device):
                losses, out, base = outputs_of(module(b.ue, b.ae, b.targets, return_outputs=True))
            for k, v in losses.items():
                name = "loss" if k == "loss" else f"loss_{k}"
                sums[name] = sums.get(name, 0.0) + float(v)
            batches += 1
            d = batch.data
            metrics.add(out.waypoints, d.waypoints, d.future_boxes, d.future_box_mask, d.ego_extent,
                        codec.decode(out.decision_logits.float().cpu()), d.decisions, out.speed, d.speed_targets)
            if base is not None:  # the refiner stage: the network's own plan on the same samples
                base_metrics.add(base.waypoints, d.waypoints, d.future_boxes, d.future_box_mask, d.ego_extent)
    module.train(was_training)
    result = {**metrics.result(), **{k: v / max(batches, 1) for k, v in sums.items()}}
    result.update({f"base_{k}": v for k, v in base_metrics.result().items() if k != "samples"})
    return mean_across_ranks(result, env, device)


# --- the loop ----------------------------------------------------------------------------------
def _check_finite(losses: dict[str, torch.Tensor], step: int, batch: TrainBatch, env: DistEnv,
                  device: torch.device) -> None:
    finite = torch.tensor([1.0 if bool(torch.isfinite(losses["loss"])) else 0.0], device=device)
    if env.distributed:
        torch.distributed.all_reduce(finite, op=torch.distributed.ReduceOp.MIN)
    if finite.item() < 1.0:
        terms = ", ".join(f"{k} {float(v.detach()):.4g}" for k, v in losses.items())
        raise NonFiniteLoss(f"non-finite loss at step {step} ({terms}); this rank's batch: {batch.where()}")


StepHook = Callable[[int, torch.nn.Module], None]  # (step done, the wrapped module): tests, probes


def train(config: TrainConfig, resume: bool = False, console: Console | None = None,
          on_step: StepHook | None = None) -> TrainResult:
    env = dist_env()
    device = device_for(env, config.model.device)
    init_process_group(env, device)
    try:
        return _train(config, resume, env, device, console, on_step)
    finally:
        close_process_group()


def _train(config: TrainConfig, resume: bool, env: DistEnv, device: torch.device,
           console: Console | None, on_step: StepHook | None) -> TrainResult:
    run = config.run
    if run.torch_threads:
        torch.set_num_threads(run.torch_threads)
    if run.deterministic:
        torch.use_deterministic_algorithms(True)
    out = config.out
    resumed = None
    if resume:
        folder = checkpoints.latest(out)
        if folder is None:
            raise checkpoints.TrainCheckpointError(f"--resume: {out} holds no checkpoint (checkpoints/latest)")
        resumed = checkpoints.load_resume(folder, env.rank, env.world)
    if config.init.checkpoint and not Path(config.init.checkpoint).exists():
        raise CheckpointError(f"init.checkpoint {config.init.checkpoint} does not exist")

    model_config = resolve_parts(replace(config.model, device=str(device)), config.parts,
                                 ue_has_pretrained_weights(config))
    spec = get_size(model_config.size)
    tokenizer = resolve_tokenizer(replace(model_config, checkpoint=config.init.checkpoint), spec)
    network, tokenizer = build_network(replace(model_config, seed=run.seed), device=device, tokenizer=tokenizer)
    logger = TrainLogger(out, config.optim.steps, resumed.step if resumed else 0, env.main, console)
    if config.init.checkpoint and (resumed is None or config.stage == "refiner"):
        report = load_checkpoint(network, config.init.checkpoint, strict=config.init.strict,
                                 same_inputs=config.stage == "refiner")  # a fine-tune may change them
        logger.message(report.summary())
    if config.stage == "refiner":
        torch.manual_seed(run.seed)
        stage = refiner_stage(network, ActionRefiner(network.spec, config.refiner).to(device))
    else:
        stage = network_stage(network, tokenizer)
    if resumed is not None:
        stage.load(resumed.folder / checkpoints.MODEL_DIR)
        diffs = checkpoints.config_differences(resumed.saved_config, to_dict(config))
        logger.message(f"resuming {resumed.folder} at step {resumed.step}"
                       + (f"; config changed: {'; '.join(diffs)}" if diffs else ""))

    train_ds, val_ds = build_datasets(config)
    trainable = sum(p.numel() for p in stage.module.parameters() if p.requires_grad)
    logger.message(f"stage {config.stage}: {len(train_ds)} training samples ({len(train_ds.routes)} routes), "
                   f"{len(val_ds) if val_ds else 0} validation samples; {trainable:,} trainable parameters "
                   f"of {sum(p.numel() for p in stage.module.parameters()):,}; {env.world} process(es)")
    maker, codec = batch_maker(network, model_config, tokenizer)
    train_maker = BatchMaker(maker.network, maker.builder, maker.codec, config.data.sampling.speed_dropout, run.seed)

    stage.module.train()
    module = wrap(stage.module, env, run.parallel, device)
    optimizer = torch.optim.AdamW(param_groups(module, config.optim.weight_decay), lr=config.optim.lr,
                                  betas=config.optim.betas)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, config))
    step = 0
    if resumed is not None:
        from torch.distributed.checkpoint.state_dict import StateDictOptions, set_optimizer_state_dict

        set_optimizer_state_dict(unwrap(module), optimizer, resumed.training_state["optimizer"],
                                 options=StateDictOptions(full_state_dict=True))
        scheduler.load_state_dict(resumed.training_state["scheduler"])
        step = resumed.step
        if resumed.rng is not None:
            checkpoints.set_rng_state(resumed.rng)
    else:
        torch.manual_seed(run.seed + env.rank)

    accumulation = config.optim.accumulation
    sampler = ResumableBatchSampler(len(train_ds), config.optim.batch_size, seed=run.seed, rank=env.rank,
                                    world=env.world, start_batch=step * accumulation,
                                    weights=sample_weights(train_ds, config.data.sampling))
    loader = iter(_loader(train_ds, train_maker, config.data.workers, batch_sampler=sampler))

    def save(at: int) -> Path | None:
        tmp = checkpoints.begin(out, at) if env.main else checkpoints.pending_dir(out, at)
        barrier(env)
        checkpoints.write_rank_rng(tmp, env.rank)
        model_state = full_model_state(module)  # collective under FSDP
        optim_state = full_optimizer_state(module, optimizer)
        barrier(env)
        folder = None
        if env.main:
            state = {"step": at, "world": env.world, "optimizer": optim_state, "scheduler": scheduler.state_dict(),
                     "next_batch": at * accumulation}
            folder = checkpoints.finish(out, at, tmp, config,
                                        lambda path: stage.save(model_state, path),
                                        state, run.keep_checkpoints)
        barrier(env)
        return folder

    last_folder = resumed.folder if resumed else None
    val: dict[str, float] = {}
    while step < config.optim.steps:
        optimizer.zero_grad(set_to_none=True)
        sums: dict[str, float] = {}
        for _ in range(accumulation):
            batch = next(loader)
            b = batch.to(device)
            with autocast(run.precision, device):
                losses = module(b.ue, b.ae, b.targets)
            _check_finite(losses, step, batch, env, device)
            (losses["loss"] / accumulation).backward()
            for k, v in losses.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach()) / accumulation
        if config.optim.grad_clip:
            torch.nn.utils.clip_grad_norm_([p for p in module.parameters() if p.grad is not None],
                                           config.optim.grad_clip)
        optimizer.step()
        lr = optimizer.param_groups[0]["lr"]
        scheduler.step()
        step += 1
        log_now = step % run.log_every == 0 or step == config.optim.steps
        if log_now:
            sums = mean_across_ranks(sums, env, device)
        logger.step(step, sums, lr, config.optim.batch_size * accumulation * env.world, log_now)
        if on_step is not None:
            on_step(step, module)
        if run.eval_every and step % run.eval_every == 0 and step != config.optim.steps:
            val = validate(module, val_ds, maker, codec, config, env, device)
            logger.validation(step, val)
        if step % run.checkpoint_every == 0 or step == config.optim.steps:
            last_folder = save(step) or last_folder
    val = validate(module, val_ds, maker, codec, config, env, device)  # always after the last step
    logger.validation(step, val)
    logger.close()
    return TrainResult(out, step, checkpoints.latest(out) if env.main else last_folder, val)
