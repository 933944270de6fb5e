"""Structure functions compiled once per response model: the converter's fast path.

cattrs' generated function calls a hook per field; an answer has ~40 fields, most of
them plain ints, strings, flags and enums, and those calls were a large share of a
sweep's CPU. :func:`compile_structure` writes one function per model instead, with
those fields checked inline (an int in the API's 64-bit range, a str, a bool, a known
enum value: no call at all) and every other field (nested models, tuples, mappings)
handed to the converter's own hook for its type. On any value that is not the plain
case it calls the same hook the converter would have, so it answers exactly as the
converter does, and it raises wherever that raises (the caller then asks the
detailed converter why).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs

__all__ = ["compile_structure"]


def _kinds(annotation: Any) -> tuple[Any, bool]:
    """(the type without None, whether None is allowed) of a field's annotation."""
    args = getattr(annotation, "__args__", None)
    if args is None or type(None) not in args:
        return annotation, False
    rest = tuple(arg for arg in args if arg is not type(None))
    return (rest[0] if len(rest) == 1 else annotation), True


def compile_structure(
    cls: type,
    conv: cattrs.Converter,
    *,
    key_of: Callable[[attrs.Attribute[Any]], str],
    bounds: tuple[int, int],
    not_an_object: Callable[[type, Any], Exception],
) -> Callable[[Any, Any], Any]:
    """A structure hook for the attrs class ``cls`` (with an ``extra`` field).

    Args:
        cls: The model; every field but ``extra`` is read from its JSON key.
        conv: The converter whose hooks handle what is not checked inline.
        key_of: A field's JSON key.
        bounds: The least and the greatest int accepted inline; any other int goes to
            the converter's int hook (which refuses it).
        not_an_object: The error for data that is not a mapping.
    """
    low, high = bounds
    env: dict[str, Any] = {
        "_cls": cls,
        "_Mapping": Mapping,
        "_not_an_object": not_an_object,
        "_LOW": low,
        "_HIGH": high,
    }
    fields = [f for f in attrs.fields(cls) if f.name != "extra"]
    known = frozenset(key_of(f) for f in fields)
    env["_known"] = known
    lines = [
        "def structure(o, _=None):",
        "    if type(o) is not dict and not isinstance(o, _Mapping):",
        "        raise _not_an_object(_cls, o)",
    ]
    args: list[str] = []
    optional: list[str] = []  # fields passed only when present: the model's default otherwise
    for index, field in enumerate(fields):
        key, var = key_of(field), f"v{index}"
        kind, nullable = _kinds(field.type)
        hook, hook_type = f"_h{index}", f"_t{index}"
        # For ``X | None`` the hook of X itself, as cattrs' optional hook would pick.
        hook_for = kind if nullable and kind is not field.type else field.type
        env[hook] = conv.get_structure_hook(hook_for)
        env[hook_type] = hook_for
        if field.default is attrs.NOTHING:
            lines.append(f"    {var} = o[{key!r}]")
        elif field.default is None and (nullable or kind is Any):
            # Absent and null are the same here: the default, None, or the hook's None.
            lines.append(f"    {var} = o.get({key!r})")
        else:
            lines.append(f"    if {key!r} in o:")
            lines.append(f"        kw[{field.name!r}] = {hook}(o[{key!r}], {hook_type})")
            optional.append(field.name)
            continue
        lines.extend(_convert(var, kind, nullable, index, env))
        args.append(f"{field.name}={var}")
    if optional:
        lines.insert(3, "    kw = {}")
        args.append("**kw")
    call = ", ".join(args)
    lines += [
        "    if _known.issuperset(o):",
        f"        return _cls({call})",
        "    extra = {k: x for k, x in o.items() if k not in _known}",
        f"    return _cls({call}, extra=extra)",
    ]
    namespace: dict[str, Any] = {}
    source = "\n".join(lines)
    code = compile(source, f"<rerunorch compiled structure {cls.__name__}>", "exec")
    exec(code, env, namespace)
    function: Callable[[Any, Any], Any] = namespace["structure"]
    return function


def _convert(var: str, kind: Any, nullable: bool, index: int, env: dict[str, Any]) -> list[str]:
    """The lines that turn ``var``, as read from the JSON, into the field's value."""
    hook = f"_h{index}({var}, _t{index})"
    if kind is Any:
        return []
    if kind is int:
        plain, value = f"type({var}) is int and _LOW <= {var} <= _HIGH", var
    elif kind is str or kind is bool:
        plain, value = f"type({var}) is {kind.__name__}", var
    elif isinstance(kind, type) and issubclass(kind, enum.Enum):
        members = f"_m{index}"
        env[members] = {member.value: member for member in kind}
        plain, value = f"type({var}) is str and {var} in {members}", f"{members}[{var}]"
    else:
        plain = value = ""
    convert = f"{var} = {value} if {plain} else {hook}" if plain else f"{var} = {hook}"
    if nullable:
        return [f"    if {var} is not None:", f"        {convert}"]
    return [f"    {convert}"]
