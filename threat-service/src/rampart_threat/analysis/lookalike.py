"""Look-alikes of brand names, in the style of dnstwist's fuzzers (our own small version).

Each brand label is expanded once into its near misses (omission, repetition, transposition,
replacement by keyboard neighbours or look-alike characters, insertion, hyphenation, vowel
swap, bit flips); a registrable label found in that table names the brand it imitates.
"""

from __future__ import annotations

import functools
import string

from rampart_threat.analysis.reference import Brand

KEYBOARD = {
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj",
    "i": "uojk", "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz", "d": "serfcx", "f": "drtgvc",
    "g": "ftyhbv", "h": "gyujnb", "j": "huikmn", "k": "jiolm", "l": "kop", "z": "asx", "x": "zsdc",
    "c": "xdfv", "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}  # fmt: skip
LOOKALIKE = {
    "o": ["0"], "0": ["o"], "l": ["1", "i"], "i": ["1", "l"], "1": ["l", "i"], "e": ["3"],
    "a": ["4"], "s": ["5"], "g": ["9", "q"], "m": ["rn", "nn"], "w": ["vv"], "d": ["cl"], "b": ["6"],
}  # fmt: skip
ALPHABET = string.ascii_lowercase + string.digits + "-"
VOWELS = "aeiou"


def permutations(label: str) -> set[str]:
    """Near misses of ``label`` (not including ``label`` itself)."""
    found: set[str] = set()
    for i, char in enumerate(label):
        head, tail = label[:i], label[i + 1 :]
        found.add(head + tail)  # omission
        found.add(head + char + char + tail)  # repetition
        if i + 1 < len(label):
            found.add(head + label[i + 1] + char + label[i + 2 :])  # transposition
        for near in KEYBOARD.get(char, ""):
            found.add(head + near + tail)
            found.add(head + near + char + tail)  # insertion of a neighbour
        for same in LOOKALIKE.get(char, []):
            found.add(head + same + tail)
        if char in VOWELS:
            found.update(head + v + tail for v in VOWELS)
        for bit in range(8):
            flipped = chr(ord(char) ^ (1 << bit))
            if flipped in ALPHABET:
                found.add(head + flipped + tail)
        if i > 0:
            found.add(head + "-" + label[i:])  # hyphenation
    for pair, single in (("rn", "m"), ("vv", "w"), ("cl", "d")):
        if pair in label:
            found.add(label.replace(pair, single))
    found.discard(label)
    return {name for name in found if name and not name.startswith("-") and not name.endswith("-")}


@functools.cache
def table(brands: tuple[Brand, ...]) -> dict[str, Brand]:
    """Near-miss label → the brand it imitates (a brand's own label never maps to another)."""
    own = {brand.label for brand in brands}
    found: dict[str, Brand] = {}
    for brand in brands:
        if len(brand.label) < 4:
            continue  # three-letter brands (dhl) have too many innocent near misses
        for name in permutations(brand.label):
            if name not in own:
                found.setdefault(name, brand)
    return found
