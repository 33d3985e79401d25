"""Typed configs: a dataclass per config group, filled from the composed YAML.

:func:`parse` checks every key before anything runs: an unknown key (with the nearest
known one suggested), a missing one, a value of the wrong type, or one outside the range a
field declares with :func:`spec` raises :class:`~surrogate_hpo.errors.ConfigError` naming
the full key (``training.learning_rate``). The YAML files are the one source of values;
the dataclasses are the schema.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, Literal, TypeVar, Union

from ..errors import ConfigError

__all__ = ["parse", "spec", "to_dict"]

T = TypeVar("T")


def spec(*, ge: float | None = None, gt: float | None = None, le: float | None = None, lt: float | None = None,
         default: Any = dataclasses.MISSING, help: str = "") -> Any:
    """A dataclass field with a numeric range (checked by :func:`parse`)."""
    meta = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None}
    meta["help"] = help
    if default is dataclasses.MISSING:
        return dataclasses.field(metadata=meta)
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def to_dict(obj: Any) -> Any:
    """A parsed config back as plain dicts and lists."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def parse(cls: type[T], raw: Any, where: str) -> T:
    """``cls`` (a dataclass) filled from the mapping ``raw``; ``where`` is its key path
    (``""`` for the top level of the config)."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where or 'the config'} must be a mapping of keys, got {raw!r}")
    prefix = f"{where}." if where else ""
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in raw if k not in fields]
    if unknown:
        key = str(unknown[0])
        near = difflib.get_close_matches(key, list(fields), n=1)
        hint = f" (did you mean {prefix}{near[0]}?)" if near else ""
        raise ConfigError(f"{prefix}{key}: unknown key{hint}; {where or 'the config'} takes "
                          f"{', '.join(sorted(fields))}")
    values: dict[str, Any] = {}
    for name, f in fields.items():
        key = f"{prefix}{name}"
        if name not in raw:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
                raise ConfigError(f"{key} is required (add {key}=... to the command or the config file)")
            continue
        value = _coerce(hints[name], raw[name], key)
        _check_range(value, f.metadata, key, raw[name])
        values[name] = value
    try:
        obj = cls(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where or 'config'}: {e}") from None
    check = getattr(obj, "check", None)
    if callable(check):
        try:
            check()
        except ConfigError:
            raise
        except ValueError as e:
            raise ConfigError(f"{where or 'config'}: {e}") from None
    return obj


def _choices(args: tuple[Any, ...]) -> str | None:
    """``'auto', true, false`` for a union of literals and bool; None for other unions."""
    out: list[str] = []
    for a in args:
        if a is type(None):
            out.append("null")
        elif a is bool:
            out += ["true", "false"]
        elif typing.get_origin(a) is Literal:
            out += [repr(v) for v in typing.get_args(a)]
        else:
            return None
    return ", ".join(out)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arm in (a for a in args if a is not type(None)):
            try:
                return _coerce(arm, value, key)
            except ConfigError as e:
                errors.append(str(e))
        choices = _choices(args)
        if choices is not None:
            raise ConfigError(f"{key}={value!r}: choose one of {choices}")
        raise ConfigError(errors[0] if len(errors) == 1 else
                          f"{key}={value!r} is none of {' | '.join(_type_name(a) for a in args)}")
    if origin is Literal:
        if isinstance(value, str) and value not in args and value.lower() in [str(a).lower() for a in args]:
            value = next(a for a in args if str(a).lower() == value.lower())
        if value not in args or isinstance(value, bool) != any(isinstance(a, bool) for a in args if a == value):
            raise ConfigError(f"{key}={value!r}: choose one of {', '.join(repr(a) for a in args)}")
        return value
    if dataclasses.is_dataclass(tp):
        return parse(tp, value, key)
    if origin in (list, tuple) or tp in (list, tuple):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key} must be a list, got {value!r}")
        item = args[0] if args else Any
        return [_coerce(item, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key} must be a mapping, got {value!r}")
        item = args[1] if len(args) == 2 else Any
        return {str(k): _coerce(item, v, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}={value!r} must be true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not float(value).is_integer():
            raise ConfigError(f"{key}={value!r} must be an integer")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}={value!r} must be a number")
        if not math.isfinite(float(value)):
            raise ConfigError(f"{key}={value!r} must be a finite number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}={value!r} must be a string")
        return value
    return value


def _check_range(value: Any, meta: Mapping[str, Any], key: str, shown: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    for op, bound, ok in (("ge", ">=", lambda v, b: v >= b), ("gt", ">", lambda v, b: v > b),
                          ("le", "<=", lambda v, b: v <= b), ("lt", "<", lambda v, b: v < b)):
        if op in meta and not ok(value, meta[op]):
            limit = meta[op] if isinstance(meta[op], int) else f"{meta[op]:g}"
            raise ConfigError(f"{key}={shown!r} must be {bound} {limit}")
