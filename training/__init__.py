"""Training: `automot train` (trainer.py) and what it is made of.

train_config.py  the typed YAML          sampler.py      resumable, distributed batch order
distributed.py   torchrun / DDP / FSDP   batches.py      dataset samples -> network batches
checkpoints.py   atomic step folders     logs.py         progress, TensorBoard, loss curve
open_loop.py     L2 / collision metrics  ship.py         a run -> a shipped model folder
"""
