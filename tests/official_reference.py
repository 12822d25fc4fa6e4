"""An independent statement of the official AutoMoT inference numerics, in plain torch ops.

Written from a reading of the release (OscarHuangWind/AutoMoT), not from this project's code:
- evaluation/inference.py InterleaveInferencer: USER_PROMPT, prepare_kv_cache -> prefill,
  kv_cache_inference -> one AE pass over the cache, the decision read-out;
- modeling/automot/automot.py: prepare_kv_cache / prepare_fast_kvcache (splits and modes),
  the task modules (activations) and the heads;
- modeling/automot/qwen3vl_navit.py: PackedAttentionMoT.forward_inference ('und' / 'gen'),
  Qwen3VLMoTDecoderLayer, get_rope_index; data/.../data_utils.py prepare_attention_mask_per_sample;
- modeling/bev_encoder/bev_encoder.py + backbone_extractor.py + config.py: the TF++ backbone,
  timm's RegNetY blocks, normalize_imagenet / crop_array;
- leaderboard/team_code: build_cleaned_prompt_and_modes, parse_decision_sequence, the agent's
  JPEG round trip and TF++ LiDAR histogram.
Only HF's unmodified pieces are shared with the project: the tokenizer, the image processor,
the Qwen3-VL vision tower. Weights are read from a state dict by the release's names.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from PIL import Image

USER_PROMPT = "<|im_start|>system\nYou are a mature and professional driver.<|im_end|>\n<|im_start|>user\n"
EPS = 1e-6  # Qwen3 rms_norm_eps


def instruction(tp: np.ndarray, speed: float) -> str:
    return (f"Your current and next target point is ({tp[0, 0]:.6f}, {tp[0, 1]:.6f}), ({tp[1, 0]:.6f}, "
            f"{tp[1, 1]:.6f}), and your current velocity is {speed:.2f} m/s. Predict the driving actions "
            f"( now, +1s, +2s) and plan the trajectory for the next 3 seconds.")


def split_mask(splits: list[tuple[int, str]]) -> torch.Tensor:
    """prepare_attention_mask_per_sample: every split sees all earlier ones; causal or full inside."""
    n = sum(s for s, _ in splits)
    m = torch.zeros(n, n, dtype=torch.bool)
    c = 0
    for s, mode in splits:
        m[c:c + s, :c] = True
        m[c:c + s, c:c + s] = torch.ones(s, s).tril().bool() if mode == "causal" else True
        c += s
    return m


def rms(x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + EPS))


def rope_tables(pos3: torch.Tensor, dim: int, theta: float, section: tuple[int, int, int]
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Qwen3-VL interleaved mRoPE. pos3 [3, T] -> cos, sin [T, dim]."""
    inv = 1.0 / theta ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim)  # [dim/2]
    freqs = pos3[:, :, None].float() * inv[None, None]  # [3, T, dim/2]
    axis = torch.zeros(dim // 2, dtype=torch.long)  # which of t/h/w drives each frequency
    for i in range(dim // 2):
        if i % 3 == 1 and i < 3 * section[1]:
            axis[i] = 1
        elif i % 3 == 2 and i < 3 * section[2]:
            axis[i] = 2
    f = freqs[axis, :, torch.arange(dim // 2)].T  # [T, dim/2]
    emb = torch.cat([f, f], dim=-1)
    return emb.cos(), emb.sin()


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x [T, H, D]; cos/sin [T, D]."""
    half = x.shape[-1] // 2
    rotated = torch.cat([-x[..., half:], x[..., :half]], dim=-1)
    return x * cos[:, None] + rotated * sin[:, None]


def attention(q, k, v, allowed, kv_groups):
    """q [Tq, Hq, D], k/v [Tk, Hkv, D]; query head h reads KV head h // kv_groups; scale D^-0.5."""
    k = k.repeat_interleave(kv_groups, dim=1)
    v = v.repeat_interleave(kv_groups, dim=1)
    scores = torch.einsum("qhd,khd->hqk", q, k) * q.shape[-1] ** -0.5
    scores = scores.masked_fill(~allowed[None], float("-inf"))
    return torch.einsum("hqk,khd->qhd", scores.softmax(-1), v)


def swiglu(x, w, prefix):
    return linear(silu(linear(x, w[prefix + "gate_proj.weight"])) * linear(x, w[prefix + "up_proj.weight"]),
                    w[prefix + "down_proj.weight"])


def linear(x, weight, bias=None):
    y = x @ weight.T
    return y if bias is None else y + bias


def silu(x):
    return x * torch.sigmoid(x)


# --- the UE prefill (mode 'und', nested mask) ---------------------------------------------------
def ue_inputs(tokenizer, processor, frames: list[np.ndarray], image_size, tp, speed):
    """Token ids, pixel values and grids as prepare_kv_cache assembles them."""
    w, h = image_size
    images = [Image.fromarray(f).resize((w, h), Image.Resampling.LANCZOS) for f in frames]
    processed = [processor(images=[image], return_tensors="pt") for image in images]  # one call per image
    grid = torch.cat([p["image_grid_thw"] for p in processed])
    pixels = torch.cat([p["pixel_values"] for p in processed])
    sp = tokenizer.special
    head = tokenizer.encode(USER_PROMPT)
    ids, splits = list(head), [(len(head), "causal")]
    for g in grid.tolist():
        n = g[0] * g[1] * g[2] // 4  # spatial merge 2x2
        ids += [sp.vision_start] + [sp.image_pad] * n + [sp.vision_end]
        splits.append((n + 2, "full"))
    tail = tokenizer.encode(instruction(tp, speed) + "<|im_end|>")
    ids += tail
    splits.append((len(tail), "causal"))
    return torch.tensor(ids), pixels, grid, splits


def mrope_positions(ids: torch.Tensor, grid: torch.Tensor, image_pad: int) -> torch.Tensor:
    """get_rope_index: text runs count on from the last max; an image is (t, h, w) + offset."""
    tokens, pos, st, image = ids.tolist(), [], 0, 0
    nxt = 0
    while image < len(grid):
        ed = tokens.index(image_pad, st)
        text = ed - st
        pos.append(torch.arange(text).expand(3, -1) + nxt)
        _, gh, gw = (int(v) for v in grid[image])
        gh, gw = gh // 2, gw // 2
        hh = torch.arange(gh).view(-1, 1).expand(gh, gw).flatten()
        ww = torch.arange(gw).view(1, -1).expand(gh, gw).flatten()
        pos.append(torch.stack([torch.zeros_like(hh), hh, ww]) + text + nxt)
        nxt = int(pos[-1].max()) + 1
        st = ed + gh * gw
        image += 1
    pos.append(torch.arange(len(tokens) - st).expand(3, -1) + nxt)
    return torch.cat(pos, dim=1)


def ue_prefill(w: dict, visual_features, ids, positions, splits, cfg) -> tuple[list, list, torch.Tensor]:
    """cfg: hidden, layers, heads, kv_heads, head_dim, theta, section, image_pad. -> K, V per layer."""
    image_embeds, deepstack = visual_features
    h = w["language_model.model.embed_tokens.weight"][ids].clone()
    is_image = ids == cfg["image_pad"]
    h[is_image] = image_embeds
    cos, sin = rope_tables(positions, cfg["head_dim"], cfg["theta"], cfg["section"])
    allowed = split_mask(splits)
    keys, values = [], []
    t = len(ids)
    for layer in range(cfg["layers"]):
        p = f"language_model.model.layers.{layer}."
        x = rms(h, w[p + "input_layernorm.weight"])
        q = rms(linear(x, w[p + "self_attn.q_proj.weight"]).view(t, cfg["heads"], -1), w[p + "self_attn.q_norm.weight"])
        k = rms(linear(x, w[p + "self_attn.k_proj.weight"]).view(t, cfg["kv_heads"], -1),
                w[p + "self_attn.k_norm.weight"])
        v = linear(x, w[p + "self_attn.v_proj.weight"]).view(t, cfg["kv_heads"], -1)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        keys.append(k)
        values.append(v)
        out = attention(q, k, v, allowed, cfg["heads"] // cfg["kv_heads"]).reshape(t, -1)
        h = h + linear(out, w[p + "self_attn.o_proj.weight"])
        h = h + swiglu(rms(h, w[p + "post_attention_layernorm.weight"]), w, p + "mlp.")
        if layer < len(deepstack):
            h = h.clone()
            h[is_image] = h[is_image] + deepstack[layer]
    return keys, values, positions


# --- the BEV encoder (TF++ backbone, eval mode) ---------------------------------------------------
def conv_bn(x, w, p, stride=1, groups=1, relu=True):
    weight = w[p + ".conv.weight"]
    k = weight.shape[-1]
    y = torch.nn.functional.conv2d(x, weight, stride=stride, padding=((stride - 1) + (k - 1)) // 2, groups=groups)
    scale = w[p + ".bn.weight"] / torch.sqrt(w[p + ".bn.running_var"] + 1e-5)
    y = (y - w[p + ".bn.running_mean"][:, None, None]) * scale[:, None, None] + w[p + ".bn.bias"][:, None, None]
    return y.clamp(min=0) if relu else y


def regnet_stage(x, w, p, depth, group_size):
    for j in range(depth):
        b = f"{p}.b{j + 1}"
        stride = 2 if j == 0 else 1
        mid = w[b + ".conv1.conv.weight"].shape[0]
        y = conv_bn(x, w, b + ".conv1")
        y = conv_bn(y, w, b + ".conv2", stride=stride, groups=mid // group_size)
        s = y.mean((2, 3), keepdim=True)
        s = torch.nn.functional.conv2d(s, w[b + ".se.fc1.weight"], w[b + ".se.fc1.bias"]).clamp(min=0)
        s = torch.nn.functional.conv2d(s, w[b + ".se.fc2.weight"], w[b + ".se.fc2.bias"])
        y = conv_bn(y * torch.sigmoid(s), w, b + ".conv3", relu=False)
        shortcut = conv_bn(x, w, b + ".downsample", stride=stride, relu=False) if b + ".downsample.conv.weight" in w \
            else x
        x = (y + shortcut).clamp(min=0)
    return x


def layer_norm(x, w, p):
    return torch.nn.functional.layer_norm(x, x.shape[-1:], w[p + ".weight"], w[p + ".bias"], 1e-5)


def gpt(img, lid, w, p, n_head, n_layer):
    b, c, ih, iw = img.shape
    lh, lw = lid.shape[2:]
    x = torch.cat([img.permute(0, 2, 3, 1).reshape(b, -1, c), lid.permute(0, 2, 3, 1).reshape(b, -1, c)], 1)
    x = x + w[p + ".pos_emb"]
    t = x.shape[1]
    for j in range(n_layer):
        q = f"{p}.blocks.{j}"
        y = layer_norm(x, w, q + ".ln1")

        def split(name, y=y, q=q):
            return linear(y, w[f"{q}.attn.{name}.weight"], w[f"{q}.attn.{name}.bias"]).view(
                b, t, n_head, c // n_head).transpose(1, 2)

        att = (split("query") @ split("key").transpose(-1, -2)) * (c // n_head) ** -0.5
        y = (att.softmax(-1) @ split("value")).transpose(1, 2).reshape(b, t, c)
        x = x + linear(y, w[q + ".attn.proj.weight"], w[q + ".attn.proj.bias"])
        y = layer_norm(x, w, q + ".ln2")
        y = linear(linear(y, w[q + ".mlp.0.weight"], w[q + ".mlp.0.bias"]).clamp(min=0),
                     w[q + ".mlp.2.weight"], w[q + ".mlp.2.bias"])
        x = x + y
    x = layer_norm(x, w, p + ".ln_f")
    n_img = ih * iw
    return (x[:, :n_img].reshape(b, ih, iw, c).permute(0, 3, 1, 2),
            x[:, n_img:].reshape(b, lh, lw, c).permute(0, 3, 1, 2))


def bev_feature(w: dict, rgb_uint8: np.ndarray, lidar_tf: np.ndarray, cfg: dict) -> torch.Tensor:
    """The agent's preprocessing + BEVEncoderBackboneExtractor: -> bev_feature [1, C, 8, 8].
    rgb_uint8 [H, W, 3] RGB; lidar_tf [1, S, S] in TF++'s histogram layout."""
    bgr = np.ascontiguousarray(rgb_uint8[..., ::-1])
    _, data = cv2.imencode(".jpg", bgr)  # the agent: "add jpg artifacts at test time"
    rgb = cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_UNCHANGED), cv2.COLOR_BGR2RGB)
    side = (rgb.shape[1] - cfg["cropped_width"]) // 2  # crop_array
    rgb = rgb[:cfg["cropped_height"], side:rgb.shape[1] - side]
    x = torch.from_numpy(np.transpose(rgb, (2, 0, 1)).copy()).float()[None]
    mean, std = torch.tensor([0.485, 0.456, 0.406]), torch.tensor([0.229, 0.224, 0.225])
    x = ((x / 255.0) - mean[None, :, None, None]) / std[None, :, None, None]  # normalize_imagenet
    lid = torch.from_numpy(lidar_tf).float()[None]
    e = "bev_encoder."
    img = conv_bn(x, w, e + "image_encoder.stem", stride=2)
    lid = conv_bn(lid, w, e + "lidar_encoder.stem", stride=2)
    for i, (depth, group) in enumerate(cfg["stages"]):
        img = regnet_stage(img, w, f"{e}image_encoder.s{i + 1}", depth, group)
        lid = regnet_stage(lid, w, f"{e}lidar_encoder.s{i + 1}", depth, group)
        img_emb = torch.nn.functional.adaptive_avg_pool2d(img, cfg["img_anchors"])
        lid_emb = torch.nn.functional.adaptive_avg_pool2d(lid, cfg["lidar_anchors"])
        lid_emb = torch.nn.functional.conv2d(lid_emb, w[f"{e}lidar_channel_to_img.{i}.weight"],
                                             w[f"{e}lidar_channel_to_img.{i}.bias"])
        img_out, lid_out = gpt(img_emb, lid_emb, w, f"{e}transformers.{i}", cfg["n_head"], cfg["n_layer"])
        lid_out = torch.nn.functional.conv2d(lid_out, w[f"{e}img_channel_to_lidar.{i}.weight"],
                                             w[f"{e}img_channel_to_lidar.{i}.bias"])
        img = img + torch.nn.functional.interpolate(img_out, size=img.shape[2:], mode="bilinear", align_corners=False)
        lid = lid + torch.nn.functional.interpolate(lid_out, size=lid.shape[2:], mode="bilinear", align_corners=False)
    return lid  # x4: the LiDAR branch after the fourth fusion


def tf_lidar_histogram(points: np.ndarray) -> np.ndarray:
    """TF++ lidar_to_histogram_features, use_ground_plane False: the 'above 0.2 m' channel, .T layout."""
    points = points[points[:, 2] < 100.0]
    above = points[points[:, 2] > 0.2]
    bins = np.linspace(-32, 32, 64 * 4 + 1)
    hist = np.histogramdd(above[:, :2], bins=(bins, bins))[0]
    hist[hist > 5] = 5
    return (hist / 5).T[None].astype(np.float32)


# --- one AE tick over the cache (mode 'gen') -----------------------------------------------------
def ae_tick(w: dict, keys, values, prefix_positions, bev: torch.Tensor, tp: np.ndarray, speed: float, cfg: dict):
    """-> (decision logits [8, V], route [20, 2], waypoints [6, 2])."""
    gelu = torch.nn.functional.gelu
    proj = {n: (lambda x, n=n: linear(gelu(linear(x, w[f"{n}_projector.fc1.weight"], w[f"{n}_projector.fc1.bias"]),
                                             approximate="tanh"), w[f"{n}_projector.fc2.weight"],
                                        w[f"{n}_projector.fc2.bias"])) for n in ("reasoning", "route", "waypoint")}

    def relu_mlp(x, p):
        x = linear(x, w[p + "0.weight"], w[p + "0.bias"]).clamp(min=0)
        x = linear(x, w[p + "2.weight"], w[p + "2.bias"]).clamp(min=0)
        return linear(x, w[p + "4.weight"], w[p + "4.bias"])

    tokens = torch.cat([
        linear(bev.flatten(2).transpose(1, 2)[0], w["bev_encoder_proj.weight"], w["bev_encoder_proj.bias"]),
        relu_mlp(torch.from_numpy(tp).float(), "target_point_encoder.mlp."),
        relu_mlp(torch.tensor([[float(speed)]]), "velocity_encoder."),
        proj["reasoning"](w["reasoning_queries.weight"]),
        proj["route"](w["route_queries.weight"]),
        proj["waypoint"](w["waypoint_queries.weight"]),
    ])
    ta, d = tokens.shape[0], cfg["head_dim"]
    new_pos = torch.arange(ta)[None] + prefix_positions.max(dim=-1, keepdim=True).values + 1
    cos, sin = rope_tables(new_pos, d, cfg["theta"], cfg["section"])
    own = split_mask([(64, "full"), (3, "full"), (8, "full"), (20, "full"), (6, "full")])
    allowed = torch.cat([torch.ones(ta, keys[0].shape[0], dtype=torch.bool), own], dim=1)
    hq, hkv, ma, mka, md = cfg["heads"], cfg["kv_heads"], cfg["mot_heads"], cfg["mot_kv_heads"], cfg["mot_head_dim"]
    h = tokens
    for layer in range(cfg["layers"]):
        p = f"language_model.model.layers.{layer}."
        x = rms(h, w[p + "input_layernorm_mot_gen.weight"])
        q = torch.zeros(ta, max(hq, ma), d)
        k = torch.zeros(ta, max(hkv, mka), d)
        v = torch.zeros(ta, max(hkv, mka), d)
        q[:, :ma, :md] = rms(linear(x, w[p + "self_attn.q_proj_mot_gen.weight"]).view(ta, ma, md),
                             w[p + "self_attn.q_norm_mot_gen.weight"])
        k[:, :mka, :md] = rms(linear(x, w[p + "self_attn.k_proj_mot_gen.weight"]).view(ta, mka, md),
                              w[p + "self_attn.k_norm_mot_gen.weight"])
        v[:, :mka, :md] = linear(x, w[p + "self_attn.v_proj_mot_gen.weight"]).view(ta, mka, md)
        q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        k[:, :, md:] = 0  # packed_key_states[mot, :, mot_head_dim:] = 0
        merged_k, merged_v = torch.cat([keys[layer], k]), torch.cat([values[layer], v])
        out = attention(q, merged_k, merged_v, allowed, hq // hkv)[:, :ma, :md].reshape(ta, -1)
        h = h + linear(out, w[p + "self_attn.o_proj_mot_gen.weight"])
        h = h + swiglu(rms(h, w[p + "post_attention_layernorm_mot_gen.weight"]), w, p + "mlp_mot_gen.")
    h = rms(h, w["language_model.model.norm_mot_gen.weight"])

    def silu_head(x, p):
        x = silu(linear(x, w[p + "0.weight"], w[p + "0.bias"]))
        x = silu(linear(x, w[p + "2.weight"], w[p + "2.bias"]))
        return linear(x, w[p + "4.weight"])

    logits = linear(h[67:75], w["language_model.model.embed_tokens.weight"])  # tied lm_head
    route = silu_head(h[75:95], "route_head.mlp.").cumsum(0)
    waypoints = silu_head(h[95:101], "waypoints_head.mlp.").cumsum(0)
    return logits, route, waypoints


def read_decision(tokenizer, logits: torch.Tensor) -> tuple[str, ...] | None:
    """_decode_reasoning_tokens + extract_all_bos_eos_with_special + parse_decision_sequence."""
    ids = logits.argmax(-1).tolist()
    sp = tokenizer.special
    spans, cur, inside = [], [], False
    for t in ids:
        if t == sp.im_start:
            if inside and cur:
                spans.append(cur)
            inside, cur = True, [t]
        elif t == sp.im_end and inside:
            spans.append(cur + [t])
            inside = False
        elif inside:
            cur.append(t)
    if inside and cur:
        spans.append(cur)
    text = tokenizer.decode(spans[0] if spans else ids)
    parts = [p.strip() for p in text.replace("<|im_start|>", "").replace("<|im_end|>", "").strip().split(",")]
    return tuple(parts[:3]) if len(parts) >= 3 else None
