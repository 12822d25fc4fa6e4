"""Decision words <-> the 8 decision-query slots read through the tied LM head.

Training target: the three words (now, +1 s, +2 s) joined by the separator, tokenised,
padded with the pad token to the 8 slots. Reading: the slots are parallel queries (not
autoregressive), so a candidate's log-probability is the sum over slots; we pick the
best of all |words|^3 candidates. That is the argmax decode restricted to valid
outputs: always three words from DECISION_WORDS, even from an untrained network.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch

from planner.automot.tokenizer import TextTokenizer
from planner.interface import DECISION_WORDS


class DecisionCodec:
    def __init__(self, tokenizer: TextTokenizer, num_slots: int, num_words: int, separator: str,
                 words: Sequence[str] = DECISION_WORDS) -> None:
        self.words, self.num_slots, self.separator = tuple(words), num_slots, separator
        self.candidates: list[tuple[str, ...]] = list(itertools.product(self.words, repeat=num_words))
        rows = []
        for cand in self.candidates:
            ids = tokenizer.encode(separator.join(cand))
            if len(ids) > num_slots:
                raise ValueError(f"decision text {separator.join(cand)!r} needs {len(ids)} tokens, "
                                 f"more than the {num_slots} decision queries")
            rows.append(ids + [tokenizer.special.pad] * (num_slots - len(ids)))
        self.sequences = torch.tensor(rows, dtype=torch.long)  # [C, slots] token ids per candidate
        self._index = {cand: i for i, cand in enumerate(self.candidates)}

    def targets(self, decisions: Sequence[Sequence[str]]) -> torch.Tensor:
        """decisions[b] = three words -> [B, slots] token ids (training targets)."""
        try:
            return self.sequences[[self._index[tuple(d)] for d in decisions]]
        except KeyError as exc:
            raise ValueError(f"decision {exc.args[0]} is not {len(self.candidates[0])} words from {self.words}") \
                from None

    def decode(self, logits: torch.Tensor) -> list[tuple[str, ...]]:
        """logits [B, slots, V] -> the best candidate per sample."""
        logp = torch.log_softmax(logits.float(), dim=-1)  # [B, S, V]
        seq = self.sequences.to(logits.device)  # [C, S]
        slot = torch.arange(self.num_slots, device=logits.device)
        scores = logp[:, slot[None, :], seq].sum(dim=-1)  # [B, C]
        return [self.candidates[i] for i in scores.argmax(dim=-1).tolist()]
