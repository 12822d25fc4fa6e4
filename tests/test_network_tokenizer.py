"""Built-in tokenizer, the UE prompt, and the decision-word codec."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.automot.decisions import DecisionCodec
from planner.automot.model_config import PromptConfig
from planner.automot.prompt import build_prompt, navigation_text
from planner.automot.tokenizer import QWEN_SPECIAL_TOKENS, TextTokenizer, build_tokenizer
from planner.interface import DECISION_WORDS

PROMPT = PromptConfig()


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer(512, PROMPT)


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=60))
def test_round_trip_any_text(tok, text):
    assert tok.decode(tok.encode(text)) == text


def test_special_tokens_digits_and_decision_words(tok):
    ids = tok.encode("<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>")
    assert ids[0] == tok.special.im_start and tok.special.image_pad in ids
    assert all(tok.tokenizer.token_to_id(t) is not None for t in QWEN_SPECIAL_TOKENS)
    assert len(tok.encode("2024")) == 4  # one token per digit, as Qwen
    for word in DECISION_WORDS:
        assert len(tok.encode(word)) == 1 and len(tok.encode(" " + word)) == 1
    assert tok.vocab_size <= 512


def test_built_in_tokenizer_is_deterministic_and_saves(tok, tmp_path):
    assert build_tokenizer(512, PROMPT).tokenizer.to_str() == tok.tokenizer.to_str()
    tok.save(tmp_path)
    loaded = TextTokenizer.load(tmp_path)
    text = navigation_text(PROMPT, np.array([[12.5, -3.0], [40.0, 2.5]]), 5.25)
    assert loaded.encode(text) == tok.encode(text)
    assert loaded.special == tok.special


RELEASE_SYSTEM = "You are a mature and professional driver."  # evaluation/inference.py USER_PROMPT
# leaderboard/team_code/automot_utils.py build_cleaned_prompt_and_modes, with its number formats.
RELEASE_NAVIGATION = ("Your current and next target point is (12.500000, -3.000000), (40.000000, 2.500000), "
                      "and your current velocity is 5.25 m/s. Predict the driving actions ( now, +1s, +2s) and "
                      "plan the trajectory for the next 3 seconds.")


def test_prompt_is_the_release_text_and_ends_at_im_end(tok):
    p = build_prompt(tok, PROMPT, tokens_per_frame=8, num_frames=4,
                     target_points=np.array([[12.5, -3.0], [40.0, 2.5]]), speed=5.25)
    assert p.text == RELEASE_NAVIGATION
    frames = "".join("<|vision_start|>" + "<|image_pad|>" * 8 + "<|vision_end|>" for _ in range(4))
    expected = (f"<|im_start|>system\n{RELEASE_SYSTEM}<|im_end|>\n<|im_start|>user\n{frames}"
                f"{RELEASE_NAVIGATION}<|im_end|>")
    assert tok.decode(p.input_ids) == expected  # the prefix ends where the release's prefill ends
    assert p.input_ids[-1] == tok.special.im_end and p.input_ids.count(tok.special.im_start) == 2
    # The same ids as tokenising the release's strings whole (USER_PROMPT, instruction + <|im_end|>).
    user = tok.encode(f"<|im_start|>system\n{RELEASE_SYSTEM}<|im_end|>\n<|im_start|>user\n")
    block = [tok.special.vision_start] + [tok.special.image_pad] * 8 + [tok.special.vision_end]
    assert p.input_ids == user + block * 4 + tok.encode(RELEASE_NAVIGATION + "<|im_end|>")
    assert sum(p.mm_token_type_ids) == 4 * 8 == p.input_ids.count(tok.special.image_pad)


def test_decision_slots_follow_the_release_layout(tok):
    codec = DecisionCodec(tok, num_slots=8, num_words=3, separator=", ")
    wanted = [("slow", "stop", "stop"), ("accelerate", "keep", "constant")]
    targets = codec.targets(wanted)
    assert targets.shape == (2, 8)
    for row, words in zip(targets.tolist(), wanted):
        ids = tok.encode(", ".join(words))
        assert len(ids) <= 6
        assert row == [tok.special.im_start, *ids, tok.special.im_end] + [-100] * (6 - len(ids))
    assert tok.decode(targets[0, 1:].clamp(min=0).tolist()).startswith("slow, stop, stop<|im_end|>")
    with pytest.raises(ValueError, match="not 3 words"):
        codec.targets([("fly", "keep", "stop")])


def _logits_for(codec, labels, vocab, noise, gen):
    """Random logits whose per-slot argmax is `labels` on its labelled slots (free elsewhere)."""
    logits = torch.randn(len(labels), 8, vocab, generator=gen) * noise
    for b, row in enumerate(labels.tolist()):
        for s, token in enumerate(row):
            if token != -100:
                logits[b, s, token] = logits[b, s].max() + 0.5 + torch.rand(1, generator=gen).item()
    return logits


def test_constrained_decode_equals_the_plain_argmax_whenever_that_is_valid(tok):
    codec = DecisionCodec(tok, num_slots=8, num_words=3, separator=", ")
    gen = torch.Generator().manual_seed(0)
    picks = torch.randint(len(codec.candidates), (64,), generator=gen)
    valid_logits = _logits_for(codec, codec.sequences[picks], tok.vocab_size, 3.0, gen)
    assert codec.layout_argmax(valid_logits) == [codec.candidates[i] for i in picks.tolist()]
    assert codec.read_argmax(valid_logits) == codec.layout_argmax(valid_logits)  # the release's reading
    assert codec.decode(valid_logits) == codec.layout_argmax(valid_logits)
    # Near-valid logits: one labelled slot is a coin flip, so some argmaxes are layouts and some not.
    flips = valid_logits.clone()
    flips[:, 2] = torch.randn(64, tok.vocab_size, generator=gen) * 3.0 + valid_logits[:, 2]
    seen_valid = 0
    for layout, decoded in zip(codec.layout_argmax(flips), codec.decode(flips)):
        assert len(decoded) == 3 and set(decoded) <= set(DECISION_WORDS)  # always valid words
        if layout is not None:
            seen_valid += 1
            assert decoded == layout
    assert 0 < seen_valid < 64
    noise = codec.decode(torch.randn(3, 8, tok.vocab_size))
    assert all(len(words) == 3 and set(words) <= set(DECISION_WORDS) for words in noise)


def test_decision_text_longer_than_the_slots_is_cut_as_released(tok):
    codec = DecisionCodec(tok, num_slots=4, num_words=1, separator=", ")  # room for one token
    assert codec.sequences[0].tolist() == [tok.special.im_start, *tok.encode("accelerate"), tok.special.im_end, -100]
    # "stop, slow" is 3 tokens, one more than 4 slots leave: <|im_start|> + 3 tokens, no <|im_end|>.
    cut = DecisionCodec(tok, num_slots=4, num_words=2, separator=", ", words=("stop", "slow"))
    assert cut.targets([("stop", "slow")]).tolist() == [[tok.special.im_start, *tok.encode("stop, slow")]]
    assert (cut.sequences != tok.special.im_end).all() and (cut.sequences != -100).all()
    with pytest.raises(ValueError, match="distinct"):
        DecisionCodec(tok, num_slots=3, num_words=3, separator=", ")
