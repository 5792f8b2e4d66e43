"""Check JSON objects against the Telegram Bot API spec (``api.json``).

Why: python-telegram-bot rejects objects that miss fields the Bot API made required, and our fake
must not invent fields either. The spec file (scraped from core.telegram.org, see
``platform-fixtures/telegram/README.md``) lists every type with field names, type strings and
required flags; this module turns it into a strict, recursive validator so fakes and recorded
payloads can be checked field by field instead of trusting memory.

Type strings understood: ``Integer``, ``Float``, ``String``, ``Boolean``, ``True``,
``Array of X`` (nestable), concrete type names (with ``fields``) and abstract unions (with
``subtypes``), e.g. ``MaybeInaccessibleMessage``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

Spec = dict[str, Any]

_ARRAY = "Array of "


class SpecViolation(AssertionError):
    """Raised when an object does not match the spec; ``errors`` lists every problem found."""

    def __init__(self, type_name: str, errors: list[str]) -> None:
        self.type_name = type_name
        self.errors = errors
        shown = "\n  ".join(errors[:50])
        more = f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(f"{type_name} does not match the Bot API spec:\n  {shown}{more}")


def load_spec(path: str | Path) -> Spec:
    """Load ``api.json``: the file, or a directory holding it or ``telegram/api.json``."""
    p = Path(path)
    if p.is_dir():
        p = p / "api.json" if (p / "api.json").exists() else p / "telegram" / "api.json"
    with p.open(encoding="utf-8") as fh:
        spec: Spec = json.load(fh)
    if "types" not in spec or "methods" not in spec:
        raise ValueError(f"{p} is not a Bot API spec (needs 'types' and 'methods')")
    return spec


def spec_errors(type_name: str, obj: Any, spec: Spec, *, path: str | None = None) -> list[str]:
    """Return every violation of ``obj`` against ``type_name`` (empty list = valid)."""
    return _check_types([type_name], obj, spec, path or type_name)


def validate_object(type_name: str, obj: Any, spec: Spec) -> None:
    """Raise :class:`SpecViolation` unless ``obj`` is a valid ``type_name`` (e.g. ``"Message"``).

    Checks required fields, unknown fields and field types recursively.
    """
    errors = spec_errors(type_name, obj, spec)
    if errors:
        raise SpecViolation(type_name, errors)


def validate_value(type_strings: Iterable[str], value: Any, spec: Spec, *, label: str) -> None:
    """Validate a value that may be any of several type strings (e.g. a method's ``returns``)."""
    types = list(type_strings)
    errors = _check_types(types, value, spec, label)
    if errors:
        raise SpecViolation(" or ".join(types), errors)


def validate_method_result(method: str, result: Any, spec: Spec) -> None:
    """Validate what a Bot API method returned against that method's ``returns`` in the spec."""
    try:
        returns = spec["methods"][method]["returns"]
    except KeyError:
        raise SpecViolation(method, [f"unknown method {method!r}"]) from None
    validate_value(returns, result, spec, label=f"{method}()")


def _check_types(types: list[str], value: Any, spec: Spec, path: str) -> list[str]:
    """Value must match at least one of ``types``; report the closest candidate's errors."""
    best: list[str] | None = None
    for type_str in types:
        errors = _check_one(type_str, value, spec, path)
        if not errors:
            return []
        if best is None or len(errors) < len(best):
            best = errors
    if len(types) > 1 and best and len(best) == 1 and best[0].startswith(f"{path}: expected"):
        return [f"{path}: expected one of {types}, got {_describe(value)}"]
    return best or []


def _check_one(type_str: str, value: Any, spec: Spec, path: str) -> list[str]:
    if type_str.startswith(_ARRAY):
        if not isinstance(value, list):
            return [f"{path}: expected {type_str}, got {_describe(value)}"]
        inner = type_str[len(_ARRAY) :]
        errors: list[str] = []
        for i, item in enumerate(value):
            errors.extend(_check_types([inner], item, spec, f"{path}[{i}]"))
        return errors
    scalar = _SCALARS.get(type_str)
    if scalar is not None:
        return [] if scalar(value) else [f"{path}: expected {type_str}, got {_describe(value)}"]
    definition = spec["types"].get(type_str)
    if definition is None:
        return [f"{path}: spec has no type {type_str!r}"]
    subtypes = definition.get("subtypes")
    if subtypes:
        errors = _check_types(list(subtypes), value, spec, path)
        return [f"{path}: matches no subtype of {type_str}: {e}" for e in errors[:1]] + errors[1:]
    return _check_fields(type_str, definition.get("fields", []), value, spec, path)


def _check_fields(
    type_str: str, fields: list[dict[str, Any]], value: Any, spec: Spec, path: str
) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected {type_str} object, got {_describe(value)}"]
    errors: list[str] = []
    known = {f["name"]: f for f in fields}
    for name in value:
        if name not in known:
            errors.append(f"{path}.{name}: field not defined for {type_str}")
    for name, field in known.items():
        if name not in value:
            if field.get("required"):
                errors.append(f"{path}.{name}: required field missing")
            continue
        errors.extend(_check_types(list(field["types"]), value[name], spec, f"{path}.{name}"))
    return errors


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_float(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


_SCALARS = {
    "Integer": _is_int,
    "Float": _is_float,
    "String": lambda v: isinstance(v, str),
    "Boolean": lambda v: isinstance(v, bool),
    "True": lambda v: v is True,
    "InputFile": lambda v: isinstance(v, str | bytes),
}


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"
