"""ModelConfig -> a ready network/runtime: tokenizer, UE (random, local Qwen folder or checkpoint), AE.

Weights, in order of precedence:
  model.checkpoint  our own folder (automot_config.json) or the official release layout;
  model.qwen_path   a local Qwen3-VL folder: real UE weights, randomly initialised AE;
  neither           everything randomly initialised (seeded) with a warning.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import torch
from transformers import Qwen3VLForConditionalGeneration

from core.typed_config import ConfigError
from planner.automot.checkpoint import checkpoint_kind, load_checkpoint
from planner.automot.decisions import DecisionCodec
from planner.automot.model_config import ModelConfig
from planner.automot.network import AutoMoTNetwork
from planner.automot.refiner_config import RefinerConfig
from planner.automot.runtime import AutoMoTRuntime
from planner.automot.sizes import SizeSpec, get_size
from planner.automot.tokenizer import TOKENIZER_FILE, TextTokenizer, build_tokenizer
from planner.automot.understanding import UEInputBuilder, build_image_processor, build_qwen_config

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def resolve_tokenizer(config: ModelConfig, spec: SizeSpec) -> TextTokenizer:
    """The checkpoint's tokenizer, else the Qwen folder's, else one built in code."""
    for folder in (config.checkpoint, config.qwen_path):
        if folder and (Path(folder) / TOKENIZER_FILE).is_file():
            return TextTokenizer.load(folder)
    if config.checkpoint and checkpoint_kind(config.checkpoint) == "official":
        raise ConfigError(f"the official checkpoint {config.checkpoint} holds no {TOKENIZER_FILE}: set "
                          "model.qwen_path to a local Qwen3-VL folder for its tokenizer")
    return build_tokenizer(spec.built_in_vocab, config.prompt)


def _check_qwen_dims(understanding: Qwen3VLForConditionalGeneration, spec: SizeSpec) -> None:
    t = understanding.config.text_config
    have = (t.hidden_size, t.num_hidden_layers, t.num_attention_heads, t.num_key_value_heads, t.head_dim)
    want = (spec.text.hidden_size, spec.text.num_layers, spec.text.num_heads, spec.text.num_kv_heads,
            spec.text.head_dim)
    if have != want:
        raise ConfigError(f"Qwen folder text dims (hidden, layers, heads, kv, head_dim) {have} do not match "
                          f"size '{spec.name}' {want}")


def build_network(config: ModelConfig, device: str | torch.device | None = None,
                  tokenizer: TextTokenizer | None = None, load_qwen: bool = True
                  ) -> tuple[AutoMoTNetwork, TextTokenizer]:
    """Seeded network of the configured size on `device` (default config.device; 'meta' for counting)."""
    spec = get_size(config.size)
    tokenizer = tokenizer or resolve_tokenizer(config, spec)
    if tokenizer.vocab_size > spec.text.vocab_size:
        raise ConfigError(f"tokenizer has {tokenizer.vocab_size} tokens, size '{spec.name}' embeds only "
                          f"{spec.text.vocab_size}")
    device = torch.device(device or config.device)
    torch.manual_seed(config.seed)
    understanding = None
    if load_qwen and config.qwen_path and not config.checkpoint and device.type != "meta":
        understanding = Qwen3VLForConditionalGeneration.from_pretrained(
            config.qwen_path, dtype=DTYPES[config.dtype], attn_implementation=config.attn_implementation).to(device)
        _check_qwen_dims(understanding, spec)
    # Parameters are created directly in the target dtype: a full-size float32 detour would
    # need twice the memory (24 GB) on the way to bfloat16.
    default_dtype = torch.get_default_dtype()
    torch.set_default_dtype(DTYPES[config.dtype])
    try:
        with device:
            if understanding is None:
                qwen_config = build_qwen_config(spec, tokenizer, config.attn_implementation)
                understanding = Qwen3VLForConditionalGeneration(qwen_config)
            network = AutoMoTNetwork(spec, config, understanding)
    finally:
        torch.set_default_dtype(default_dtype)
    return network, tokenizer


def build_runtime(config: ModelConfig, refiner: RefinerConfig | None = None) -> AutoMoTRuntime:
    """The network's runtime; with an enabled refiner config, the saved refiner on top of it."""
    spec = get_size(config.size)
    network, tokenizer = build_network(config)
    if config.checkpoint:
        report = load_checkpoint(network, config.checkpoint, strict=config.strict_load)
        (log.info if report.ok else log.warning)("%s", report.summary())
    elif config.qwen_path:
        log.warning("AutoMoT: UE weights from %s, action expert and heads randomly initialised (seed %d)",
                    config.qwen_path, config.seed)
    else:
        log.warning("AutoMoT: no checkpoint configured: size '%s' runs with random weights (seed %d)",
                    config.size, config.seed)
    network = network.eval()  # already in config.dtype (float buffers such as RoPE inv_freq stay float32)
    processor = build_image_processor(spec, config.qwen_path)
    builder = UEInputBuilder(spec, config, tokenizer, processor, network.understanding.model.get_rope_index)
    codec = DecisionCodec(tokenizer, spec.num_decision_queries, spec.num_decision_words,
                          config.prompt.decision_separator)
    action_refiner = None
    if refiner is not None and refiner.enabled:
        from planner.automot.refiner import load_refiner  # diffusers, only when asked for

        action_refiner = load_refiner(refiner.checkpoint, spec, refiner)
        log.info("AutoMoT+: action refiner from %s (%d DDIM steps)", refiner.checkpoint, refiner.inference_steps)
    return AutoMoTRuntime(network, builder, codec, action_refiner)


def without_weights(config: ModelConfig) -> ModelConfig:
    """The same shapes with nothing to load (model-info, benchmarks)."""
    return replace(config, checkpoint=None, qwen_path=None)
