"""The release's checkpoint keys: a full-size state dict covers every one; strict loading works.

How the release's key list is derived (no release file is available here): from the module
structure of the official code, written out below by hand, not from this project's modules.
- `AutoMoT` (Automot/mot/modeling/automot/automot.py) holds `language_model`
  (Qwen3VLForConditionalGenerationMoT: `model.embed_tokens`, `model.layers.{i}` of
  Qwen3VLMoTDecoderLayer, `model.norm`, `model.norm_mot_gen`, `lm_head` tied), `vision_model`
  (transformers' Qwen3VLVisionModel: its own state-dict names), and the task modules
  `route_head` / `waypoints_head` (`query` + `mlp.0/2/4`, last without bias),
  `target_point_encoder.mlp.0/2/4`, `bev_encoder_proj`, `velocity_encoder.0/2/4`,
  `velocity_head.0/2`, `{reasoning,route,waypoint}_queries` + `*_projector.fc1/fc2`.
- Qwen3VLMoTDecoderLayer (qwen3vl_navit.py): `self_attn.{q,k,v,o}_proj`, `q_norm`, `k_norm` and
  their `*_mot_gen` twins, `mlp` / `mlp_mot_gen` (`gate/up/down_proj`), `input_layernorm`,
  `post_attention_layernorm` and their `*_mot_gen` twins (no biases: attention_bias False).
- `bev_encoder.*` (read from the same file by BEVEncoderBackboneExtractor) is a
  BEVEncoderBackbone (bev_encoder.py) with config.py's defaults: timm regnety_032 image and
  LiDAR encoders (features_only; stem + s1..s4 of b1..bN blocks: conv1/conv2/conv3 ConvNormAct,
  se.fc1/fc2, downsample on each stage's first block; BatchNorm buffers included),
  `transformers.{i}` GPTs (pos_emb, n_layer blocks of ln1/ln2/attn.{key,query,value,proj}/
  mlp.0/mlp.2, ln_f), `lidar_channel_to_img.{i}` / `img_channel_to_lidar.{i}` 1x1 convs, and
  (detect_boxes / use_bev_semantic) `c5_conv`, `up_conv5`, `up_conv4`; no
  `lidar_to_img_features_end` (transformer_decoder_join).
"""

from __future__ import annotations

import pytest
import torch
from network_fixtures import tiny_runtime
from safetensors.torch import save_file
from transformers.models.qwen3_vl.configuration_qwen3_vl import Qwen3VLVisionConfig
from transformers.models.qwen3_vl.modeling_qwen3_vl import Qwen3VLVisionModel

from planner.automot.build import build_network
from planner.automot.checkpoint import WEIGHTS_FILE, CheckpointError, load_checkpoint
from planner.automot.model_config import ModelConfig
from planner.automot.official_keys import TIED_KEYS, official_key
from planner.automot.sizes import FULL, TINY

UNUSED = ("route_head.query", "waypoints_head.query")  # learned in the release, never read
LM_HEAD = "language_model.lm_head.weight"  # tied to the embeddings


def _text_keys(layers: int) -> list[str]:
    keys = ["language_model.model.embed_tokens.weight", "language_model.model.norm.weight",
            "language_model.model.norm_mot_gen.weight", LM_HEAD]
    for i in range(layers):
        p = f"language_model.model.layers.{i}."
        for part in ("q_proj", "k_proj", "v_proj", "o_proj", "q_norm", "k_norm"):
            keys += [f"{p}self_attn.{part}.weight", f"{p}self_attn.{part}_mot_gen.weight"]
        for mlp in ("mlp", "mlp_mot_gen"):
            keys += [f"{p}{mlp}.{n}_proj.weight" for n in ("gate", "up", "down")]
        for norm in ("input_layernorm", "post_attention_layernorm"):
            keys += [f"{p}{norm}.weight", f"{p}{norm}_mot_gen.weight"]
    return keys


def _vision_keys(vision: dict) -> list[str]:
    """The release builds transformers' Qwen3VLVisionModel from Qwen3-VL's config: its names."""
    with torch.device("meta"):
        model = Qwen3VLVisionModel(Qwen3VLVisionConfig(**vision))
    return ["vision_model." + k for k in model.state_dict()]


def _task_shapes(hidden: int, query_dim: int, bev_dim: int, enc=(256, 512), head=(512, 256)) -> dict:
    s = {f"{n}.query": (1, t, hidden) for n, t in (("route_head", 20), ("waypoints_head", 6))}
    for n in ("route_head.mlp", "waypoints_head.mlp"):
        s.update({f"{n}.0.weight": (head[0], hidden), f"{n}.0.bias": (head[0],), f"{n}.2.weight": (head[1], head[0]),
                  f"{n}.2.bias": (head[1],), f"{n}.4.weight": (2, head[1])})
    for n, d_in in (("target_point_encoder.mlp", 2), ("velocity_encoder", 1)):
        s.update({f"{n}.0.weight": (enc[0], d_in), f"{n}.0.bias": (enc[0],), f"{n}.2.weight": (enc[1], enc[0]),
                  f"{n}.2.bias": (enc[1],), f"{n}.4.weight": (hidden, enc[1]), f"{n}.4.bias": (hidden,)})
    s.update({"bev_encoder_proj.weight": (hidden, bev_dim), "bev_encoder_proj.bias": (hidden,),
              "velocity_head.0.weight": (hidden, hidden), "velocity_head.0.bias": (hidden,),
              "velocity_head.2.weight": (3, hidden), "velocity_head.2.bias": (3,)})
    for n, t in (("reasoning", 8), ("route", 20), ("waypoint", 6)):
        s.update({f"{n}_queries.weight": (t, query_dim), f"{n}_projector.fc1.weight": (hidden, query_dim),
                  f"{n}_projector.fc1.bias": (hidden,), f"{n}_projector.fc2.weight": (hidden, hidden),
                  f"{n}_projector.fc2.bias": (hidden,)})
    return s


def _conv_bn(p: str, c_out: int, c_in: int, k: int) -> dict:
    return {f"{p}.conv.weight": (c_out, c_in, k, k), f"{p}.bn.weight": (c_out,), f"{p}.bn.bias": (c_out,),
            f"{p}.bn.running_mean": (c_out,), f"{p}.bn.running_var": (c_out,), f"{p}.bn.num_batches_tracked": ()}


def _regnet_shapes(p: str, in_chans: int, stem: int, widths, depths, group: int) -> dict:
    s = _conv_bn(f"{p}.stem", stem, in_chans, 3)
    c_in = stem
    for i, (w, d) in enumerate(zip(widths, depths)):
        for j in range(d):
            b, cin = f"{p}.s{i + 1}.b{j + 1}", c_in if j == 0 else w
            rd = round(cin * 0.25)  # timm: SE from the block's input width
            s.update(_conv_bn(f"{b}.conv1", w, cin, 1))
            s.update(_conv_bn(f"{b}.conv2", w, group, 3))  # grouped: w // group groups of `group`
            s.update({f"{b}.se.fc1.weight": (rd, w, 1, 1), f"{b}.se.fc1.bias": (rd,),
                      f"{b}.se.fc2.weight": (w, rd, 1, 1), f"{b}.se.fc2.bias": (w,)})
            s.update(_conv_bn(f"{b}.conv3", w, w, 1))
            if j == 0:
                s.update(_conv_bn(f"{b}.downsample", w, cin, 1))
        c_in = w
    return s


def _bev_shapes(widths, depths, group, stem, tokens, n_layer, exp, top_down) -> dict:
    e = "bev_encoder."
    s = _regnet_shapes(e + "image_encoder", 3, stem, widths, depths, group)
    s.update(_regnet_shapes(e + "lidar_encoder", 1, stem, widths, depths, group))  # use_ground_plane False
    for i, c in enumerate(widths):
        g = f"{e}transformers.{i}"
        s[f"{g}.pos_emb"] = (1, tokens, c)
        s.update({f"{g}.ln_f.weight": (c,), f"{g}.ln_f.bias": (c,)})
        for j in range(n_layer):
            b = f"{g}.blocks.{j}"
            for n in ("ln1", "ln2"):
                s.update({f"{b}.{n}.weight": (c,), f"{b}.{n}.bias": (c,)})
            for n in ("key", "query", "value", "proj"):
                s.update({f"{b}.attn.{n}.weight": (c, c), f"{b}.attn.{n}.bias": (c,)})
            s.update({f"{b}.mlp.0.weight": (exp * c, c), f"{b}.mlp.0.bias": (exp * c,),
                      f"{b}.mlp.2.weight": (c, exp * c), f"{b}.mlp.2.bias": (c,)})
        for n in ("lidar_channel_to_img", "img_channel_to_lidar"):  # image and LiDAR widths are equal
            s.update({f"{e}{n}.{i}.weight": (c, c, 1, 1), f"{e}{n}.{i}.bias": (c,)})
    s.update({f"{e}c5_conv.weight": (top_down, widths[-1], 1, 1), f"{e}c5_conv.bias": (top_down,)})
    for n in ("up_conv5", "up_conv4"):
        s.update({f"{e}{n}.weight": (top_down, top_down, 3, 3), f"{e}{n}.bias": (top_down,)})
    return s


# The release (config.py defaults + timm regnety_032) and the tiny preset, written out.
FULL_BEV = dict(widths=(72, 216, 576, 1512), depths=(2, 5, 13, 1), group=24, stem=32, tokens=12 * 32 + 8 * 8,
                n_layer=2, exp=4, top_down=64)
TINY_BEV = dict(widths=(8, 16, 24, 40), depths=(1, 1, 2, 1), group=8, stem=8, tokens=1 * 2 + 8 * 8,
                n_layer=1, exp=2, top_down=8)
FULL_VISION = dict(depth=24, hidden_size=1024, intermediate_size=4096, num_heads=16, patch_size=16,
                   temporal_patch_size=2, spatial_merge_size=2, out_hidden_size=2560,
                   num_position_embeddings=2304, deepstack_visual_indexes=[5, 11, 17])


def _release(spec, bev: dict, vision: dict, query_dim: int, enc, head) -> tuple[dict, list[str]]:
    shapes = _task_shapes(spec.text.hidden_size, query_dim, bev["widths"][-1], enc, head)
    shapes.update(_bev_shapes(**bev))
    return shapes, _text_keys(spec.text.num_layers) + _vision_keys(vision)


def _ours(network) -> dict[str, tuple[int, ...]]:
    state = network.state_dict()
    mapped = {official_key(k): tuple(v.shape) for k, v in state.items() if k not in TIED_KEYS}
    assert None not in mapped, "a tensor of ours has no name in the release"
    return mapped


def test_full_size_state_dict_covers_every_release_key():
    network, _ = build_network(ModelConfig(size="full"), device="meta")
    ours = _ours(network)
    shapes, names = _release(FULL, FULL_BEV, FULL_VISION, 588, (256, 512), (512, 256))
    release = set(shapes) | set(names)
    assert set(ours) == release - set(UNUSED) - {LM_HEAD}
    assert {k: ours[k] for k in shapes if k in ours} == {k: v for k, v in shapes.items() if k not in UNUSED}
    bev_params = sum(torch.Size(v).numel() for k, v in shapes.items() if k.startswith("bev_encoder.")
                     and not k.endswith(("running_mean", "running_var", "num_batches_tracked")))
    assert network.param_counts()["bev_params"] == bev_params  # what `automot model-info` reports
    assert network.param_counts()["ae_params"] == 1_639_903_360


def _synthetic_release(tmp_path, network, bev: dict) -> dict[str, torch.Tensor]:
    """A tiny release file: every release key (names derived above), shapes of the tiny network."""
    spec = network.spec
    v = spec.vision
    vision = dict(depth=v.depth, hidden_size=v.hidden_size, intermediate_size=v.intermediate_size,
                  num_heads=v.num_heads, patch_size=v.patch_size, temporal_patch_size=v.temporal_patch_size,
                  spatial_merge_size=v.spatial_merge_size, out_hidden_size=spec.text.hidden_size,
                  num_position_embeddings=v.num_position_embeddings,
                  deepstack_visual_indexes=list(v.deepstack_indexes))
    shapes, names = _release(spec, bev, vision, spec.task.query_embed_dim, spec.task.encoder_hidden,
                             spec.task.head_hidden)
    ours = _ours(network)
    gen = torch.Generator().manual_seed(0)
    tensors = {}
    for key in sorted(set(shapes) | set(names)):
        shape = shapes.get(key) or ours.get(key) or (spec.text.vocab_size, spec.text.hidden_size)
        dtype = torch.int64 if key.endswith("num_batches_tracked") else torch.bfloat16
        tensors[key] = (torch.randn(shape, generator=gen) if dtype != torch.int64 else torch.tensor(7)).to(dtype)
    save_file(tensors, str(tmp_path / WEIGHTS_FILE))
    return tensors


def test_strict_load_of_a_synthetic_release_reports_nothing_missing_or_unexpected(tmp_path):
    target = tiny_runtime(seed=40, energized=False, bev_encoder="transfuser").network
    tensors = _synthetic_release(tmp_path, target, TINY_BEV)
    report = load_checkpoint(target, tmp_path, strict=True)
    assert report.missing == [] and report.unexpected == [] and report.mismatched == []
    assert sorted(report.ignored) == sorted([*UNUSED, LM_HEAD])
    state = target.state_dict()
    for ours, value in state.items():
        theirs = official_key(ours)
        if theirs in tensors and ours not in TIED_KEYS:  # the LM head is the (loaded) embedding
            assert torch.equal(value, tensors[theirs].to(value.dtype)), ours
    assert target.lm_head.weight is target.text_model.embed_tokens.weight
    assert int(target.bev_encoder.lidar_encoder.stem.bn.num_batches_tracked) == 7


def test_the_compact_cnn_cannot_load_the_release_strictly(tmp_path):
    target = tiny_runtime(seed=41, energized=False, bev_encoder="transfuser").network
    _synthetic_release(tmp_path, target, TINY_BEV)
    compact = tiny_runtime(seed=41, energized=False).network  # the CPU default at tiny
    with pytest.raises(CheckpointError, match="bev_encoder"):
        load_checkpoint(compact, tmp_path, strict=True)
    assert TINY.bev_encoder == "compact_cnn" and FULL.bev_encoder == "transfuser"
