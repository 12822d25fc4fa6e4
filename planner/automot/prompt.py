"""The understanding expert's prompt, as the release's prefill writes it (AutoMoT.prepare_kv_cache):

    <|im_start|>system\\n{system}<|im_end|>\\n<|im_start|>user\\n
    <|vision_start|><|image_pad|>×N<|vision_end|> × 4 frames (oldest first)
    {navigation: both target points + current speed}<|im_end|>

The prefix ends at that <|im_end|>: no assistant header follows (the AE tokens come next).
Image placeholders are inserted as ids (not expanded strings), and `mm_token_type_ids`
marks them (1 = image, 0 = text) as transformers 5.x requires for mRoPE.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.automot.model_config import PromptConfig
from planner.automot.tokenizer import TextTokenizer


@dataclass(frozen=True)
class PromptTokens:
    input_ids: list[int]  # [T] token ids, images as runs of <|image_pad|>
    mm_token_type_ids: list[int]  # [T] 0 text, 1 image placeholder
    text: str  # the navigation sentence as rendered (for logs and tests)


def navigation_text(prompt: PromptConfig, target_points: np.ndarray, speed: float) -> str:
    """target_points: [2, 2] ego frame (x fwd, y right) m; speed m/s."""
    lim, vlim = prompt.coordinate_limit_m, prompt.speed_limit_mps
    tp = np.clip(np.asarray(target_points, dtype=np.float64).reshape(2, 2), -lim, lim)
    fmt = prompt.coordinate_format.format
    return prompt.navigation.format(
        x1=fmt(tp[0, 0]), y1=fmt(tp[0, 1]), x2=fmt(tp[1, 0]), y2=fmt(tp[1, 1]),
        speed=prompt.speed_format.format(float(np.clip(speed, 0.0, vlim))),
    )


def build_prompt(
    tokenizer: TextTokenizer, prompt: PromptConfig, tokens_per_frame: int, num_frames: int,
    target_points: np.ndarray, speed: float,
) -> PromptTokens:
    sp = tokenizer.special
    ids: list[int] = []
    types: list[int] = []

    def text(s: str) -> None:
        encoded = tokenizer.encode(s)
        ids.extend(encoded)
        types.extend([0] * len(encoded))

    def special(token_id: int) -> None:
        ids.append(token_id)
        types.append(0)

    special(sp.im_start)
    text(f"system\n{prompt.system}")
    special(sp.im_end)
    text("\n")
    special(sp.im_start)
    text("user\n")
    for index in range(num_frames):
        if prompt.frame_label:
            text(prompt.frame_label.format(index=index + 1))
        special(sp.vision_start)
        ids.extend([sp.image_pad] * tokens_per_frame)
        types.extend([1] * tokens_per_frame)
        special(sp.vision_end)
    nav = navigation_text(prompt, target_points, speed)
    text(nav)
    special(sp.im_end)
    return PromptTokens(input_ids=ids, mm_token_type_ids=types, text=nav)
