"""Validation of option tables (TOML sections, GUI forms) against `param(...)` dataclasses.

One checker for the run, data, model and optim sections, so every bad value fails the same
way: the message names the key and what is allowed.
"""
from __future__ import annotations

import dataclasses
import difflib
import math
from typing import Any, Mapping

# Whole numbers end up in torch tensors and RNG seeds, which hold 64-bit integers; a field
# without a declared range is still held to that.
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1


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
            near = (difflib.get_close_matches(key, list(fields), n=1, cutoff=0.6)
                    if isinstance(key, str) else [])
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise error(f"{section}.{show_key(key)}: unknown key{hint}; valid keys: "
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
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if is_int and expected in (int, float) and not INT64_MIN <= value <= INT64_MAX:
        # before any conversion: float() overflows and str() refuses past 4300 digits
        raise error(f"{where}: {show(value)} is out of range; allowed {_range(f, expected)}")
    if expected is float and is_int:
        value = float(value)
    elif expected is int and isinstance(value, float) and value.is_integer():
        value = int(value)              # TOML users write 1e5
    elif expected is str and choices and is_int and INT64_MIN <= value <= INT64_MAX:
        value = str(value)              # channels = 3 for a choice spelled "3"
    elif expected in (tuple, list) and isinstance(value, list):
        value = expected(value)
    if isinstance(value, bool) != (expected is bool) or not isinstance(value, expected):
        hint = f"; choose one of {', '.join(repr(c) for c in choices)}" if choices else ""
        raise error(f"{where}: expected {_type_name(expected)}, got {show(value)}{hint}")
    if choices is not None and value not in choices:
        raise error(f"{where}: {show(value)} is not a valid choice; choose one of "
                    + ", ".join(repr(c) for c in choices))
    if isinstance(value, str):
        _check_text(value, where, error)
    if expected in (int, float):
        if not math.isfinite(value):
            raise error(f"{where}: {value!r} is not a valid value; give a finite number")
        lo, hi = _bounds(f, expected)
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise error(f"{where}: {show(value)} is out of range; allowed {_range(f, expected)}")
    return value


def _check_text(value: str, where: str, error: type[Exception]) -> None:
    # a NUL truncates paths at the OS; a lone surrogate cannot be saved back as UTF-8
    if "\0" in value:
        raise error(f"{where}: text must not contain a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise error(f"{where}: text is not valid Unicode (lone surrogate)") from None


def show(value: Any, limit: int = 60) -> str:
    """repr for messages, cut short: a hostile value must not flood (or, past 4300 digits,
    break) the one line that reports it."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 100:
        return f"an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits"
    try:
        text = repr(value)
    except ValueError:              # a huge integer inside a list or table
        return f"a {type(value).__name__} with an integer too long to print"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def show_key(key: Any) -> str:
    """A key as typed when it is plain text, else its repr (a newline must not split the
    one-line message)."""
    if isinstance(key, str) and key.isprintable() and len(key) <= 60:
        return key
    return show(key)


def _bounds(f: dataclasses.Field, expected: type) -> tuple[Any, Any]:
    lo, hi = f.metadata.get("min"), f.metadata.get("max")
    if expected is int:
        lo = INT64_MIN if lo is None else lo
        hi = INT64_MAX if hi is None else hi
    return lo, hi


def _range(f: dataclasses.Field, expected: type) -> str:
    lo, hi = _bounds(f, expected)
    if lo is not None and hi is not None:
        return f"{_num(lo)} to {_num(hi)}"
    return f">= {_num(lo)}" if lo is not None else f"<= {_num(hi)}"


def _num(x: float) -> str:
    if isinstance(x, int) or (float(x).is_integer() and abs(x) < 1e15):
        return str(int(x))
    return f"{x:g}"


def _type_name(t: type) -> str:
    return {int: "a whole number", float: "a number", str: "text", bool: "true or false",
            tuple: "a list", list: "a list"}.get(t, t.__name__)
