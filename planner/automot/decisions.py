"""Decision words <-> the 8 decision-query slots read through the tied LM head, as released.

Slot layout (Automot/mot/data/automot/dataset_base.py, pack_sequence 'reasoning_text'):

    [<|im_start|>, tokens of "w0, w1, w2" (at most slots - 2), <|im_end|>, -100, -100, ...]

Slots after <|im_end|> are ignored by the loss (-100). A text longer than slots - 2 tokens is
cut as the release cuts it: <|im_start|> + its first slots - 1 tokens, no <|im_end|>.

Reading. The release takes the per-slot argmax and reads the first <|im_start|>...<|im_end|>
span (evaluation/inference.py). An untrained or unsure network's argmax need not be three
valid words, so `decode` constrains the choice to the |words|^3 candidates in this layout:
score(c) = sum over c's labelled slots of log p(c's token) + sum over its ignored slots of
max log p. Every score is at most sum_s max log p, reached exactly by a candidate whose
labels are the argmax, so whenever the plain argmax is a candidate layout, `decode` returns
it (tested); otherwise it returns the most probable valid reading.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch

from planner.automot.tokenizer import TextTokenizer
from planner.interface import DECISION_WORDS

IGNORE_INDEX = -100  # torch cross_entropy's default ignore_index, as the release's labels use


class DecisionCodec:
    def __init__(self, tokenizer: TextTokenizer, num_slots: int, num_words: int, separator: str,
                 words: Sequence[str] = DECISION_WORDS) -> None:
        if num_slots < 3:
            raise ValueError(f"{num_slots} decision queries cannot hold <|im_start|>, a word and <|im_end|>")
        self.tokenizer, self.words, self.num_slots, self.separator = tokenizer, tuple(words), num_slots, separator
        self.num_words = num_words
        sp = tokenizer.special
        self.start_id, self.end_id = sp.im_start, sp.im_end
        self.candidates: list[tuple[str, ...]] = list(itertools.product(self.words, repeat=num_words))
        rows = []
        for cand in self.candidates:
            ids = tokenizer.encode(separator.join(cand))
            if len(ids) <= num_slots - 2:
                row = [self.start_id, *ids, self.end_id]
            else:  # the release's cut: no room left for <|im_end|>
                row = [self.start_id, *ids[: num_slots - 1]]
            rows.append(row + [IGNORE_INDEX] * (num_slots - len(row)))
        if len({tuple(r) for r in rows}) != len(rows):
            raise ValueError(f"decision texts need more than the {num_slots} decision queries to stay distinct")
        self.sequences = torch.tensor(rows, dtype=torch.long)  # [C, slots], IGNORE_INDEX past the labels
        self._index = {cand: i for i, cand in enumerate(self.candidates)}

    def targets(self, decisions: Sequence[Sequence[str]]) -> torch.Tensor:
        """decisions[b] = three words -> [B, slots] label ids, IGNORE_INDEX (-100) on unused slots."""
        try:
            return self.sequences[[self._index[tuple(d)] for d in decisions]]
        except KeyError as exc:
            raise ValueError(f"decision {exc.args[0]} is not {self.num_words} words from {self.words}") from None

    def decode(self, logits: torch.Tensor) -> list[tuple[str, ...]]:
        """logits [B, slots, V] -> the best valid candidate per sample (see the module docstring)."""
        logp = torch.log_softmax(logits.float(), dim=-1)  # [B, S, V]
        seq = self.sequences.to(logits.device)  # [C, S]
        labelled = seq != IGNORE_INDEX
        slot = torch.arange(self.num_slots, device=logits.device)
        gathered = logp[:, slot[None, :], seq.clamp(min=0)]  # [B, C, S]
        free = logp.max(dim=-1).values[:, None, :]  # [B, 1, S]: an ignored slot costs nothing
        scores = torch.where(labelled[None], gathered, free).sum(dim=-1)  # [B, C]
        return [self.candidates[i] for i in scores.argmax(dim=-1).tolist()]

    def read_argmax(self, logits: torch.Tensor) -> list[tuple[str, ...] | None]:
        """The release's reading of the plain per-slot argmax: the first <|im_start|> span (up to
        <|im_end|> or the last slot), split at the separator; None where that is not three words."""
        results: list[tuple[str, ...] | None] = []
        sep = self.separator.strip()
        for ids in logits.argmax(dim=-1).tolist():
            if self.start_id not in ids:
                results.append(None)
                continue
            span = ids[ids.index(self.start_id) + 1:]
            if self.end_id in span:
                span = span[: span.index(self.end_id)]
            parts = tuple(p.strip() for p in self.tokenizer.decode(span).split(sep))
            valid = len(parts) == self.num_words and all(p in self.words for p in parts)
            results.append(parts if valid else None)
        return results

    def layout_argmax(self, logits: torch.Tensor) -> list[tuple[str, ...] | None]:
        """The candidate whose labelled slots all equal the per-slot argmax (None: no such candidate).
        `decode` provably returns it when it exists."""
        arg = logits.argmax(dim=-1)  # [B, S]
        seq = self.sequences.to(arg.device)
        match = ((seq[None] == arg[:, None]) | (seq[None] == IGNORE_INDEX)).all(dim=-1)  # [B, C]
        return [self.candidates[int(row.nonzero()[0])] if row.any() else None for row in match]
