"""Text tokenizer: Qwen's own tokenizer.json when a Qwen3-VL folder is given, else one built in code.

The built-in tokenizer (tiny/small sizes, random-weight runs) mimics Qwen's: byte-level
BPE, one token per digit, and the same special tokens (chat markers, vision markers,
image pad), trained in code on the prompt vocabulary and the decision words. It is
saved with every checkpoint, so a trained model always reads its own token ids.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from planner.automot.model_config import PromptConfig
from planner.interface import DECISION_WORDS

TOKENIZER_FILE = "tokenizer.json"

# Qwen2/Qwen3 special tokens, in their vocabulary order (ids 151643.. in the real tokenizer).
QWEN_SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)


@dataclass(frozen=True)
class SpecialIds:
    pad: int  # <|endoftext|>: Qwen's pad token; also fills unused decision slots
    im_start: int
    im_end: int
    vision_start: int
    vision_end: int
    image_pad: int
    video_pad: int


class TextTokenizer:
    """Thin wrapper over a `tokenizers.Tokenizer` (thread-safe for encode/decode)."""

    def __init__(self, tokenizer: Tokenizer, source: str) -> None:
        self.tokenizer = tokenizer
        self.source = source  # 'built-in' or the file it came from
        self.special = SpecialIds(
            pad=self._require("<|endoftext|>"),
            im_start=self._require("<|im_start|>"),
            im_end=self._require("<|im_end|>"),
            vision_start=self._require("<|vision_start|>"),
            vision_end=self._require("<|vision_end|>"),
            image_pad=self._require("<|image_pad|>"),
            video_pad=self._require("<|video_pad|>"),
        )

    def _require(self, token: str) -> int:
        token_id = self.tokenizer.token_to_id(token)
        if token_id is None:
            raise ValueError(f"tokenizer ({self.source}) lacks the special token {token}")
        return token_id

    @property
    def vocab_size(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / TOKENIZER_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        self.tokenizer.save(str(tmp))
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, folder_or_file: str | Path) -> TextTokenizer:
        path = Path(folder_or_file)
        if path.is_dir():
            path = path / TOKENIZER_FILE
        if not path.is_file():
            raise FileNotFoundError(f"no tokenizer at {path}")
        return cls(Tokenizer.from_file(str(path)), source=str(path))


def _corpus(prompt: PromptConfig) -> list[str]:
    """Training text: the prompts as they will be rendered, the decision phrases, the chat roles."""
    numbers = [prompt.coordinate_format.format(v / 10) for v in range(-999, 1000, 37)]
    speeds = [prompt.speed_format.format(v / 10) for v in range(0, 400, 13)]
    texts = ["system\n", "user\n", "assistant\n", prompt.system]
    for i, (a, b) in enumerate(zip(numbers, reversed(numbers))):
        texts.append(prompt.navigation.format(x1=a, y1=b, x2=b, y2=a, speed=speeds[i % len(speeds)]))
        texts.append(prompt.frame_label.format(index=i % 9))
    # Decision phrases many times over so every decision word becomes one token.
    for first in DECISION_WORDS:
        for second in DECISION_WORDS:
            texts.extend([prompt.decision_separator.join((first, second, w)) for w in DECISION_WORDS] * 8)
    return texts


def build_tokenizer(vocab_size: int, prompt: PromptConfig) -> TextTokenizer:
    """Deterministic byte-level BPE with Qwen's special tokens and per-digit splitting."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True),
    ])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(QWEN_SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(_corpus(prompt), trainer=trainer)
    return TextTokenizer(tokenizer, source="built-in")
