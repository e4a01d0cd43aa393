"""Proto enums as the public API's lowercase words: ``SCAN_PROFILE_PENTEST`` <-> ``"pentest"``.

Every Rampart enum follows buf's STANDARD rules (``<ENUM>_UNSPECIFIED = 0``, every value
prefixed with the enum's name), so the word is the value's name without the prefix, in lower
case. The public JSON keeps its words; the contracts carry enums.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

V = TypeVar("V", bound=int)
UNSPECIFIED = "UNSPECIFIED"


def _prefix(enum: _EnumTypeWrapper[V]) -> str:
    return enum.DESCRIPTOR.values_by_number[0].name.removesuffix(UNSPECIFIED)


def enum_word(enum: _EnumTypeWrapper[V], value: int) -> str:
    """The public word of ``value``; "" for *_UNSPECIFIED, the number's text for one the enum lacks."""
    described = enum.DESCRIPTOR.values_by_number.get(value)
    if described is None:
        return str(value)
    return "" if value == 0 else described.name.removeprefix(_prefix(enum)).lower()


def enum_value(enum: _EnumTypeWrapper[V], word: str) -> V | None:
    """The value a public word names ("" is *_UNSPECIFIED); ``None`` for a word the enum lacks."""
    if not word:
        return enum.Value(_prefix(enum) + UNSPECIFIED)
    if word != word.lower() or word.upper() == UNSPECIFIED:
        return None
    try:
        return enum.Value(_prefix(enum) + word.upper())
    except ValueError:
        return None


def enum_words(enum: _EnumTypeWrapper[V]) -> tuple[str, ...]:
    """Every public word of the enum, in number order (*_UNSPECIFIED aside)."""
    return tuple(enum_word(enum, number) for number in sorted(enum.DESCRIPTOR.values_by_number) if number)


def enum_of(enum: _EnumTypeWrapper[V], word: str) -> V:
    """The value of a word the caller knows is valid (e.g. one it stored); ``ValueError`` if not."""
    value = enum_value(enum, word)
    if value is None:
        raise ValueError(f"{word!r} is not a {enum.DESCRIPTOR.name} word")
    return value
