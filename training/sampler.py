"""The batch order: seeded, split across ranks, weighted if asked, and resumable at any batch.

Batch k of the run (k = 0, 1, ... across epochs) is a pure function of (seed, k): epoch e draws
an order of all samples from seed + e (a permutation, or weighted draws with replacement), and
global batch k of that epoch holds `world * batch` consecutive entries, rank r taking its slice.
A resumed run starts the sampler at the batch it stopped at: the same samples follow, whatever
the DataLoader had prefetched when the run was stopped.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch


class ResumableBatchSampler(torch.utils.data.Sampler[list[int]]):
    def __init__(self, num_samples: int, batch_size: int, seed: int, rank: int = 0, world: int = 1,
                 start_batch: int = 0, weights: Sequence[float] | None = None) -> None:
        if num_samples < batch_size * world:
            raise ValueError(f"{num_samples} training samples cannot fill one batch of {batch_size} x {world} ranks")
        if weights is not None and len(weights) != num_samples:
            raise ValueError(f"{len(weights)} weights for {num_samples} samples")
        self.num_samples, self.batch_size, self.seed = num_samples, batch_size, seed
        self.rank, self.world, self.start_batch = rank, world, start_batch
        self.weights = None if weights is None else torch.as_tensor(weights, dtype=torch.float64)
        self.batches_per_epoch = num_samples // (batch_size * world)  # the tail is dropped

    def epoch_order(self, epoch: int) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed + epoch)
        if self.weights is None:
            return torch.randperm(self.num_samples, generator=g)
        return torch.multinomial(self.weights, self.num_samples, replacement=True, generator=g)

    def batch(self, k: int, order: torch.Tensor | None = None) -> list[int]:
        """This rank's indices of global batch k."""
        epoch, within = divmod(k, self.batches_per_epoch)
        order = self.epoch_order(epoch) if order is None else order
        first = within * self.batch_size * self.world + self.rank * self.batch_size
        return order[first: first + self.batch_size].tolist()

    def __iter__(self) -> Iterator[list[int]]:  # endless: the trainer counts steps
        k = self.start_batch
        epoch, order = -1, None
        while True:
            e = k // self.batches_per_epoch
            if e != epoch:
                epoch, order = e, self.epoch_order(e)
            yield self.batch(k, order)
            k += 1
