"""Typed configuration: frozen dataclasses <-> plain dicts / YAML, strictly validated.

Why hand-written and not a library: the rules users need are few and exact —
an unknown key is an error naming it and the closest valid key, a value of the
wrong type names its dotted path, and each dataclass validates its own ranges
in `__post_init__` by raising `ConfigError`. Nothing reads environment variables.

YAML is read with two changes to PyYAML's safe loader: a key given twice in one mapping
is an error (PyYAML keeps the last silently), and `1e9` is a float as in YAML 1.2
(YAML 1.1, which PyYAML follows, wants `1.0e+9` and reads `1e9` as a string).
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import types
import typing
from pathlib import Path
from typing import Any, TypeVar, Union

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value or key is invalid; the message names the dotted path."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader + duplicate keys rejected + YAML 1.2 exponent floats without a dot."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise ConfigError(f"duplicate key {key!r} on line {line} (first given on line {seen[key]})")
            if isinstance(key, (str, int, float, bool)):
                seen[key] = line
        return super().construct_mapping(node, deep)


# Only what the 1.1 float pattern misses: digits with an exponent and no dot ('1e9', '-2E-3');
# checked before the int pattern, so '10' stays an int.
_EXPONENT_FLOAT = re.compile(r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$")
# A copy: the resolver table is a class attribute PyYAML's own loaders share.
_StrictLoader.yaml_implicit_resolvers = {k: list(v) for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}
for _first in "+-0123456789":
    _StrictLoader.yaml_implicit_resolvers[_first] = (
        [("tag:yaml.org,2002:float", _EXPONENT_FLOAT)] + _StrictLoader.yaml_implicit_resolvers.get(_first, []))
_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _StrictLoader.construct_mapping)


def parse_yaml(text: str) -> Any:
    """YAML text -> data, with the strict rules above (ConfigError for a duplicate key)."""
    return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no arbitrary objects


def _closest(name: str, options: list[str]) -> str:
    match = difflib.get_close_matches(name, options, n=1, cutoff=0.5)
    return f" Did you mean '{match[0]}'?" if match else f" Valid keys: {', '.join(sorted(options))}."


def _convert(value: Any, annotation: Any, path: str) -> Any:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for option in (a for a in args if a is not type(None)):
            try:
                return _convert(value, option, path)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{path}: no type of {annotation} accepts {value!r}")
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{path}: {value!r} is not one of {list(args)}.")
        return value
    if dataclasses.is_dataclass(annotation):
        if isinstance(value, annotation):
            return value
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: expected a mapping for {annotation.__name__}, got {type(value).__name__}.")
        return from_dict(annotation, value, path)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {type(value).__name__}.")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0], f"{path}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(f"{path}: expected {len(args)} values, got {len(value)}.")
        return tuple(_convert(v, a, f"{path}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
    if annotation is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true/false, got {value!r}.")
        return value
    if annotation is int:
        if isinstance(value, float) and value.is_integer() and abs(value) < 2 ** 53:
            return int(value)  # 2e5 written for a count
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{path}: expected an integer, got {value!r}.")
        return value
    if annotation is float:
        if isinstance(value, str) and _looks_numeric(value):
            raise ConfigError(f"{path}: expected a number, got the string {value!r}: write it without quotes.")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}.")
        return float(value)
    if annotation is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}.")
        return value
    raise ConfigError(f"{path}: unsupported config type {annotation!r}.")


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def from_dict(cls: type[T], data: dict[str, Any], path: str = "") -> T:
    """Build dataclass `cls` from a (partial) dict; missing keys keep their defaults."""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        if key not in fields:
            raise ConfigError(f"Unknown config key '{where}'.{_closest(str(key), list(fields))}")
        kwargs[key] = _convert(value, hints[key], where)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}" if path else str(exc)) from None


def to_dict(config: Any) -> Any:
    """Plain-data form (tuples as lists) suitable for YAML/JSON."""
    if dataclasses.is_dataclass(config):
        return {f.name: to_dict(getattr(config, f.name)) for f in dataclasses.fields(config)}
    if isinstance(config, (list, tuple)):
        return [to_dict(v) for v in config]
    return config


def load_yaml(cls: type[T], path: str | Path) -> T:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"Config file not found: {path}")
    try:
        data = parse_yaml(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping, got {type(data).__name__}.")
    try:
        return from_dict(cls, data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def override(config: T, dotted: dict[str, Any]) -> T:
    """Return a copy with dotted-path overrides applied, e.g. {'scheduler.ue_interval': 4}."""
    data = to_dict(config)
    for key, value in dotted.items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            if not isinstance(node, dict) or part not in node:
                raise ConfigError(f"Unknown config key '{key}'.")
            node = node[part]
        if parts[-1] not in node:
            raise ConfigError(f"Unknown config key '{key}'.{_closest(parts[-1], list(node))}")
        node[parts[-1]] = value
    return from_dict(type(config), data)


def require(condition: bool, message: str) -> None:
    """Validation helper for `__post_init__`: raise ConfigError(message) unless condition."""
    if not condition:
        raise ConfigError(message)
