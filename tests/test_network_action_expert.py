"""Action-expert numerics of the official release: padded heads, key zeroing, GQA head choice."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from network_fixtures import observation, tiny_runtime

from planner.automot.sizes import TINY


@pytest.fixture(scope="module")
def rt():
    return tiny_runtime(seed=21)


def test_qkv_are_padded_to_the_ue_head_dim(rt):
    net = rt.network
    layer = net.action_expert.layers[0]
    da, d = TINY.action.head_dim, TINY.text.head_dim
    hidden = torch.randn(2, 5, TINY.text.hidden_size)
    positions = torch.arange(30, 35)[None].expand(2, -1)[None].expand(3, -1, -1)
    cos, sin = net.text_model.rotary_emb(hidden, positions)
    with torch.no_grad():
        q, k, v = layer.qkv(hidden, cos, sin)
    assert q.shape == (2, TINY.action.num_heads, 5, d)
    assert k.shape == v.shape == (2, TINY.action.num_kv_heads, 5, d)
    assert (k[..., da:] == 0).all()  # keys zeroed past the AE head_dim after rotation
    assert (v[..., da:] == 0).all()  # values zero-padded
    assert (q[..., da:] != 0).any()  # queries keep what the rotation moved into the pad dims
    assert tuple(layer.q_norm.weight.shape) == (da,)  # q/k norms act on the AE's own dims


def test_ae_reads_only_the_ue_kv_heads_of_its_gqa_groups(rt):
    """AE query head h reads KV head h // groups: UE KV heads past the AE's count are never read."""
    obs = observation(seed=22)
    cache = rt.understand(obs)
    ae = rt.ae_batch([obs])
    base = rt.act_batch(ae, cache).waypoints
    hk = TINY.action.num_kv_heads
    assert hk < TINY.text.num_kv_heads

    def scrambled(head_slice: slice):
        keys = []
        for k in cache.keys:
            k = k.clone()
            k[:, head_slice] = torch.randn_like(k[:, head_slice])
            keys.append(k)
        return replace(cache, keys=tuple(keys))

    unread = rt.act_batch(ae, scrambled(slice(hk, None))).waypoints
    read = rt.act_batch(ae, scrambled(slice(0, hk))).waypoints
    assert torch.equal(base, unread)
    assert not torch.allclose(base, read, atol=1e-3)


def test_ae_positions_continue_after_the_prefix(rt):
    obs = observation(seed=23)
    cache = rt.understand(obs)
    positions = rt.network.ae_positions(cache.next_position)
    assert positions.shape == (3, 1, TINY.ae_tokens)
    assert int(positions.min()) == int(cache.next_position)
    assert torch.equal(positions[0], positions[2])  # text-like: the same position on t, h, w
    moved = replace(cache, next_position=cache.next_position + 7)
    a, b = rt.act_batch(rt.ae_batch([obs]), cache), rt.act_batch(rt.ae_batch([obs]), moved)
    assert not torch.allclose(a.waypoints, b.waypoints, atol=1e-4)  # RoPE does act on the AE tokens
