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


def test_prompt_holds_both_targets_and_the_speed(tok):
    p = build_prompt(tok, PROMPT, tokens_per_frame=8, num_frames=4,
                     target_points=np.array([[12.5, -3.0], [40.0, 2.5]]), speed=5.25)
    decoded = tok.decode(p.input_ids)
    for piece in ("+012.5", "-003.0", "+040.0", "+002.5", "05.2"):
        assert piece in p.text and piece in decoded
    assert decoded.startswith("<|im_start|>system\n") and decoded.endswith("<|im_start|>assistant\n")
    assert sum(p.mm_token_type_ids) == 4 * 8 == p.input_ids.count(tok.special.image_pad)
    assert p.input_ids.count(tok.special.vision_start) == 4
    other = build_prompt(tok, PROMPT, 8, 4, np.array([[-999.0, 0.0], [1.0, 555.5]]), 33.3)
    assert len(other.input_ids) == len(p.input_ids)  # fixed-width numbers: a constant token budget


def test_decision_codec_round_trip(tok):
    codec = DecisionCodec(tok, num_slots=8, num_words=3, separator=" ")
    wanted = [("slow", "stop", "stop"), ("accelerate", "keep", "constant")]
    targets = codec.targets(wanted)
    assert targets.shape == (2, 8)
    assert tok.decode(targets[0].tolist(), skip_special_tokens=True) == "slow stop stop"
    logits = torch.nn.functional.one_hot(targets, tok.vocab_size).float() * 5.0
    assert codec.decode(logits) == wanted
    random = codec.decode(torch.randn(3, 8, tok.vocab_size))
    assert all(len(words) == 3 and set(words) <= set(DECISION_WORDS) for words in random)
    with pytest.raises(ValueError, match="not 3 words"):
        codec.targets([("fly", "keep", "stop")])


def test_decision_text_longer_than_the_slots_is_an_error(tok):
    with pytest.raises(ValueError, match="decision queries"):
        DecisionCodec(tok, num_slots=2, num_words=3, separator=" ")
