"""Checkpoints: our own folder format, and the official AutoMoT release layout.

Own format (one folder):
    model.safetensors     every tensor of AutoMoTNetwork (tied LM head left out)
    automot_config.json   format tag + version, size, BEV encoder, the ModelConfig and the resolved SizeSpec
    tokenizer.json        the tokenizer the model was trained with
Official release: `model.safetensors` (or a sharded index) in the release's key layout
(official_keys.py). Either way loading checks every tensor and reports missing,
unexpected and mis-shaped keys; a file that is not valid safetensors, or a checkpoint
of another size, is a CheckpointError naming the path.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from core.atomic_files import atomic_write_json
from core.typed_config import to_dict
from planner.automot.official_keys import IGNORED_OFFICIAL, TIED_KEYS, official_key_map

FORMAT = "automot-checkpoint"
# 2: the release's numerics (prefix mask, AE blocks, activations, decision slots, prompt,
# speed head, BEV encoders by name): version-1 weights would compute something else.
VERSION = 2
CONFIG_FILE = "automot_config.json"
WEIGHTS_FILE = "model.safetensors"
INDEX_FILE = "model.safetensors.index.json"

log = logging.getLogger(__name__)


class CheckpointError(RuntimeError):
    """A checkpoint cannot be used: unreadable, corrupt, another size, or (strict) incomplete."""


@dataclass
class LoadReport:
    source: str
    kind: str  # 'automot' or 'official'
    loaded: int = 0
    missing: list[str] = field(default_factory=list)  # our tensors the file lacks (kept as initialised)
    unexpected: list[str] = field(default_factory=list)  # file tensors nothing maps to
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)  # key, ours, file
    ignored: list[str] = field(default_factory=list)  # known-unused or tied file tensors

    @property
    def ok(self) -> bool:
        return not (self.missing or self.mismatched)

    def summary(self, limit: int = 8) -> str:
        def head(items: list) -> str:
            shown = ", ".join(str(i) for i in items[:limit])
            return shown + (f", ... (+{len(items) - limit})" if len(items) > limit else "")

        lines = [f"checkpoint {self.source} ({self.kind}): {self.loaded} tensors loaded"]
        if self.missing:
            lines.append(f"  missing ({len(self.missing)}): {head(self.missing)}")
        if self.mismatched:
            lines.append(f"  mis-shaped ({len(self.mismatched)}): " + head(
                [f"{k} model {list(a)} file {list(b)}" for k, a, b in self.mismatched]))
        if self.unexpected:
            lines.append(f"  unexpected ({len(self.unexpected)}): {head(self.unexpected)}")
        if self.ignored:
            lines.append(f"  ignored ({len(self.ignored)}): {head(self.ignored)}")
        return "\n".join(lines)


def _tied(network: nn.Module) -> set[str]:
    """Keys that mirror another tensor (the LM head tied to the token embeddings): stored once."""
    und = network.understanding
    tied = und.lm_head.weight is und.model.language_model.embed_tokens.weight
    return set(TIED_KEYS) if tied else set()


def save_checkpoint(network: nn.Module, tokenizer, folder: str | Path,
                    state: dict[str, torch.Tensor] | None = None) -> Path:
    """Write our format into `folder` (created); every file written atomically. `state`: the
    weights to write when they are not `network.state_dict()` (a sharded run's gathered state)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    skip = _tied(network)
    state = network.state_dict() if state is None else state
    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items() if k not in skip}
    tmp = folder / f".{WEIGHTS_FILE}.tmp"
    save_file(tensors, str(tmp), metadata={"format": "pt", "automot": FORMAT})
    tmp.replace(folder / WEIGHTS_FILE)
    tokenizer.save(folder)
    config = replace(network.config, checkpoint=None)
    atomic_write_json(folder / CONFIG_FILE, {
        "format": FORMAT, "version": VERSION, "size": network.spec.name, "bev_encoder": network.bev_encoder_name,
        "model": to_dict(config), "spec": asdict(network.spec),
    })
    return folder


def checkpoint_kind(folder: str | Path) -> str:
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"checkpoint folder {folder} does not exist")
    if (folder / CONFIG_FILE).is_file():
        return "automot"
    if (folder / WEIGHTS_FILE).is_file() or (folder / INDEX_FILE).is_file():
        return "official"
    raise CheckpointError(f"{folder} holds neither {CONFIG_FILE} (our format) nor {WEIGHTS_FILE} (official)")


def _weight_files(folder: Path) -> list[Path]:
    if (folder / WEIGHTS_FILE).is_file():
        return [folder / WEIGHTS_FILE]
    try:
        index = json.loads((folder / INDEX_FILE).read_text())
        return sorted({folder / name for name in index["weight_map"].values()})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CheckpointError(f"{folder / INDEX_FILE}: unreadable shard index ({exc})") from None


def _check_own_config(folder: Path, network: nn.Module, same_inputs: bool) -> None:
    try:
        meta = json.loads((folder / CONFIG_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointError(f"{folder / CONFIG_FILE}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{folder / CONFIG_FILE}: not an {FORMAT} config")
    if meta.get("version") != VERSION:
        raise CheckpointError(f"{folder}: checkpoint version {meta.get('version')}, this code reads {VERSION}")
    if meta.get("size") != network.spec.name:
        raise CheckpointError(f"{folder}: checkpoint is size '{meta.get('size')}', the config asks for "
                              f"'{network.spec.name}' (set model.size to match)")
    stored_prompt = (meta.get("model") or {}).get("prompt")
    if stored_prompt is not None and stored_prompt != json.loads(json.dumps(to_dict(network.config.prompt))):
        log.warning("%s was trained with another model.prompt (version %r) than the configured one "
                    "(version %r); the network will read prompts it has not seen", folder,
                    stored_prompt.get("version") if isinstance(stored_prompt, dict) else None,
                    network.config.prompt.version)
    # Checkpoints from before the key read the speed.
    stored_speed = bool((meta.get("model") or {}).get("ego_speed_input", True))
    if same_inputs and stored_speed != network.config.ego_speed_input:
        raise CheckpointError(f"{folder}: the network was trained with model.ego_speed_input "
                              f"{str(stored_speed).lower()}, the config says "
                              f"{str(network.config.ego_speed_input).lower()} (set it to match)")
    stored_bev = meta.get("bev_encoder")
    if stored_bev != network.bev_encoder_name:
        raise CheckpointError(f"{folder}: checkpoint has the '{stored_bev}' BEV encoder, the config builds "
                              f"'{network.bev_encoder_name}' (set model.bev_encoder to match)")
    want = json.loads(json.dumps(asdict(network.spec)))  # tuples -> lists, as stored
    if meta.get("spec") != want:
        diff = sorted(k for k in want if (meta.get("spec") or {}).get(k) != want[k])
        raise CheckpointError(f"{folder}: shapes differ from size '{network.spec.name}' in {diff}")


def load_checkpoint(network: nn.Module, folder: str | Path, strict: bool = True,
                    same_inputs: bool = True) -> LoadReport:
    """Copy a checkpoint into `network` in place (cast to its dtype); report what did not fit.

    same_inputs: the network must read what the checkpoint was trained on (model.ego_speed_input);
    False for a fine-tune that changes it on purpose."""
    folder = Path(folder)
    kind = checkpoint_kind(folder)
    ours = network.state_dict()
    tied = _tied(network)
    if kind == "automot":
        _check_own_config(folder, network, same_inputs)
        key_map = {k: k for k in ours}
    else:
        key_map = official_key_map(list(ours))
    report = LoadReport(source=str(folder), kind=kind)
    found: dict[str, tuple[Path, tuple[int, ...]]] = {}
    for path in _weight_files(folder):
        try:
            with safe_open(str(path), framework="pt", device="cpu") as handle:
                for key in handle.keys():
                    found[key] = (path, tuple(handle.get_slice(key).get_shape()))
        except Exception as exc:  # safetensors raises its own error types for every kind of damage
            raise CheckpointError(f"{path}: not a readable safetensors file ({type(exc).__name__}: {exc})") \
                from None
    wanted: dict[Path, list[tuple[str, str]]] = {}
    for key, tensor in ours.items():
        theirs = key_map.get(key)
        if theirs is None or theirs not in found:
            if key not in tied:
                report.missing.append(key)
            continue
        path, shape = found[theirs]
        if key in tied:
            continue
        if shape != tuple(tensor.shape):
            report.mismatched.append((key, tuple(tensor.shape), shape))
            continue
        wanted.setdefault(path, []).append((key, theirs))
    used = {theirs for pairs in wanted.values() for _, theirs in pairs}
    used |= {key_map[k] for k, _, _ in report.mismatched}
    tied_theirs = {key_map[k] for k in tied if k in key_map}
    for theirs in sorted(found):
        if theirs in used:
            continue
        (report.ignored if theirs in tied_theirs or IGNORED_OFFICIAL.match(theirs) else report.unexpected).append(
            theirs)
    if strict and not report.ok:
        raise CheckpointError(report.summary())
    with torch.no_grad():
        for path, pairs in wanted.items():
            try:
                with safe_open(str(path), framework="pt", device="cpu") as handle:
                    for key, theirs in pairs:
                        ours[key].copy_(handle.get_tensor(theirs).to(ours[key].dtype))
                        report.loaded += 1
            except Exception as exc:
                raise CheckpointError(f"{path}: reading tensors failed ({type(exc).__name__}: {exc})") from None
    return report
