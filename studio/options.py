"""Validation of option tables (TOML sections, GUI forms) against `param(...)` dataclasses.

One checker for the run, data, model and optim sections, so every bad value fails the same
way: the message names the key and what is allowed.
"""
from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Mapping


def build_options(cls: type, values: Mapping[str, Any], section: str,
                  error: type[Exception] = ValueError) -> Any:
    """Instantiate dataclass `cls` from `values`, checking names, types, ranges, choices,
    then the instance's own `validate()` if it has one."""
    if dataclasses.is_dataclass(values) and not isinstance(values, type):
        values = dataclasses.asdict(values)
    if not isinstance(values, Mapping):
        raise error(f"[{section}] must be a table of keys, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            near = difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise error(f"{section}.{key}: unknown key{hint}; valid keys: "
                        f"{', '.join(fields) or 'none'}")
        kwargs[key] = check_value(fields[key], value, f"{section}.{key}", error)
    try:
        obj = cls(**kwargs)
    except TypeError as e:
        raise error(f"[{section}]: {e}") from None
    post = getattr(obj, "validate", None)
    if callable(post):
        try:
            post()
        except ValueError as e:
            raise error(f"[{section}]: {e}") from None
    return obj


def field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    return f.default_factory()  # type: ignore[misc]


def check_value(f: dataclasses.Field, value: Any, where: str,
                error: type[Exception] = ValueError) -> Any:
    meta = f.metadata
    expected = type(field_default(f))
    choices = meta.get("choices")
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected is float and is_number:
        value = float(value)
    elif expected is int and isinstance(value, float) and value.is_integer():
        value = int(value)              # TOML users write 1e5
    elif expected is str and choices and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)              # channels = 3 for a choice spelled "3"
    elif expected in (tuple, list) and isinstance(value, list):
        value = expected(value)
    if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
        hint = f"; choose one of {', '.join(repr(c) for c in choices)}" if choices else ""
        raise error(f"{where}: expected {_type_name(expected)}, got {value!r}{hint}")
    if choices is not None and value not in choices:
        raise error(f"{where}: {value!r} is not a valid choice; choose one of "
                    + ", ".join(repr(c) for c in choices))
    lo, hi = meta.get("min"), meta.get("max")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value != value:
            raise error(f"{where}: NaN is not a valid value")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            rng = (f"{lo:g} to {hi:g}" if lo is not None and hi is not None
                   else f">= {lo:g}" if lo is not None else f"<= {hi:g}")
            raise error(f"{where}: {value!r} is out of range; allowed {rng}")
    return value


def _type_name(t: type) -> str:
    return {int: "a whole number", float: "a number", str: "text", bool: "true or false",
            tuple: "a list", list: "a list"}.get(t, t.__name__)
