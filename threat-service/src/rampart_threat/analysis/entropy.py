"""Shannon entropy and the DGA-likeness of a name."""

from __future__ import annotations

import math
from collections import Counter

VOWELS = set("aeiou")


def shannon(data: bytes | str) -> float:
    """Bits per symbol (0 for empty input; 8 is the maximum for bytes)."""
    if not data:
        return 0.0
    counts = Counter(data)
    total = len(data)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


def dga_like(label: str) -> str | None:
    """Why a registrable label looks machine-generated, or None.

    Generated names (Conficker, Necurs, Ramnit style, MITRE T1568.002) are long, have high
    character entropy, few vowels, long consonant runs, or mix digits into letters.
    """
    letters = label.replace("-", "")
    if len(letters) < 12:
        return None
    vowel_ratio = sum(c in VOWELS for c in letters) / len(letters)
    digits = sum(c.isdigit() for c in letters)
    longest_run = run = 0
    for char in letters:
        run = run + 1 if char.isalpha() and char not in VOWELS else 0
        longest_run = max(longest_run, run)
    bits = shannon(letters)
    score = 0
    score += bits >= 3.6
    score += vowel_ratio < 0.25
    score += longest_run >= 5
    score += digits > 0 and digits / len(letters) >= 0.2 and not letters.isdigit()
    if score >= 2:
        return (
            f"{len(letters)} chars, entropy {bits:.2f}, vowels {vowel_ratio:.0%}, consonant run {longest_run}"
        )
    return None
