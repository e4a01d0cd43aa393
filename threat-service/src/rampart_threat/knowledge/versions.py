"""Version strings as the feeds and banners write them, compared the way each product family means them.

One ordering covers the families in the feeds: dotted numbers (``4.96 < 4.96.1``, ``15.8 < 15.20``),
letter suffixes that are later releases (``1.3.8 < 1.3.8a``, ``1.1.1w < 1.1.1x``, OpenSSH ``9.2 < 9.2p1``),
and pre-releases that come before their release (``2.11.0-RC.1 < 2.11.0``, ``2.6.0rc1 < 2.6.0``).
Missing trailing parts count as zero (``2.4 == 2.4.0``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_TOKEN = re.compile(r"\d+|[a-z]+")
_PRE_RELEASE = {"dev": 0, "snapshot": 0, "alpha": 1, "beta": 2, "pre": 3, "preview": 3, "rc": 4, "cr": 4}
# A segment key: (rank, number, text). Pre-releases rank 0, a missing part counts as the number 0 (rank 1),
# a post-release letter (``a`` in ``1.3.8a``, ``p`` in ``9.2p1``) ranks 2 so it sorts after the bare release.
Segment = tuple[int, int, str]
ZERO: Segment = (1, 0, "")


@lru_cache(maxsize=65536)
def version_key(version: str) -> tuple[Segment, ...]:
    """A sortable key; compare keys with :func:`compare` (trailing zeros are equal)."""
    out: list[Segment] = []
    for tok in _TOKEN.findall(version.lower()):
        if tok.isdigit():
            out.append((1, int(tok), ""))
        elif tok in _PRE_RELEASE:
            out.append((0, _PRE_RELEASE[tok], tok))
        else:
            out.append((2, 0, tok))
    while out and out[-1] == ZERO:
        out.pop()
    return tuple(out)


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as version ``a`` is older than, the same as, or newer than ``b``."""
    ka, kb = version_key(a), version_key(b)
    n = max(len(ka), len(kb))
    for i in range(n):
        sa = ka[i] if i < len(ka) else ZERO
        sb = kb[i] if i < len(kb) else ZERO
        if sa != sb:
            return -1 if sa < sb else 1
    return 0


def is_version(text: str) -> bool:
    """True when ``text`` looks like a version (starts with a digit): not a word such as "Mainline"."""
    return bool(text) and text[0].isdigit()


def in_range(
    version: str,
    start_including: str | None = None,
    start_excluding: str | None = None,
    end_including: str | None = None,
    end_excluding: str | None = None,
) -> bool:
    """NVD's versionStart/End Including/Excluding semantics (absent bounds are open)."""
    if start_including is not None and compare(version, start_including) < 0:
        return False
    if start_excluding is not None and compare(version, start_excluding) <= 0:
        return False
    if end_including is not None and compare(version, end_including) > 0:
        return False
    return not (end_excluding is not None and compare(version, end_excluding) >= 0)


# --- what a scanner detected ---------------------------------------------------------------------------

_OPENSSH = re.compile(r"^(?P<version>\d+(?:\.\d+)*)(?P<update>p\d+)?$", re.I)
_DEB_PKG = re.compile(r"^(?:\d+:)?(?P<upstream>[^-\s]+)-(?P<revision>[0-9][\w.+~]*)$")
_BANNER_DISTRO = re.compile(
    r"(?P<distro>Debian|Ubuntu|Raspbian|FreeBSD|Red ?Hat|CentOS|Fedora|Alpine)"
    r"[-_ ]?(?P<revision>[0-9][\w.+~-]*)?",
    re.I,
)
_DISTRO_SUFFIX = re.compile(r"(?P<revision>[+~.](?:deb\d+u\d+|ubuntu[\w.]*|el\d+[\w.]*|fc\d+))", re.I)


@dataclass(frozen=True, slots=True)
class DetectedVersion:
    """An upstream version split as NVD splits it, plus any distribution package revision seen."""

    upstream: str  # as the project numbers it: "9.2p1", "1.22.1"
    version: str  # CPE version field: "9.2"
    update: str | None  # CPE update field: "p1", "-" (known: none), None (unknown)
    distro: str | None = None
    distro_revision: str | None = None

    @property
    def from_distribution(self) -> bool:
        return self.distro_revision is not None


def split_for_cpe(product: str, upstream: str) -> tuple[str, str | None]:
    """(version, update) for the CPE: OpenSSH ``9.2p1`` -> ("9.2", "p1"); others keep the version whole."""
    if product == "openssh":
        m = _OPENSSH.match(upstream)
        if m:
            return m["version"], (m["update"].lower() if m["update"] else "-")
    return upstream, None


def detect(product: str, version: str, banner: str = "") -> DetectedVersion:
    """The detected version of ``product`` (CPE product name), with a distribution revision if any.

    ``version`` may be an upstream version (``9.2p1``) or a Debian package version
    (``1:9.2p1-2+deb12u3``); ``banner`` is the raw service banner
    (``SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3``).
    """
    version = version.strip()
    distro: str | None = None
    revision: str | None = None
    pkg = _DEB_PKG.match(version)
    if pkg and not is_prerelease_suffix(pkg["revision"]):
        version, revision, distro = pkg["upstream"], pkg["revision"], "debian"
    suffix = _DISTRO_SUFFIX.search(version)
    if suffix:
        revision = revision or suffix["revision"].lstrip("+~.")
        version = version[: suffix.start()]
    m = _BANNER_DISTRO.search(banner) if banner else None
    if m:
        distro = m["distro"].lower().replace(" ", "")
        revision = revision or m["revision"]
        # "(Debian)" in an Apache banner names the distribution but no package revision: still a
        # distribution build, so fixes may be backported under the same upstream version.
        revision = revision or "unknown"
    v, update = split_for_cpe(product, version)
    return DetectedVersion(
        upstream=version, version=v, update=update, distro=distro, distro_revision=revision
    )


def is_prerelease_suffix(text: str) -> bool:
    return bool(text) and version_key(text)[:1] != () and version_key(text)[0][0] == 0


# --- Debian package versions (for imported distribution data) -------------------------------------------


def _dpkg_order(c: str) -> int:
    if c == "~":
        return -1
    if c.isdigit():
        return 0
    if c.isalpha():
        return ord(c)
    return ord(c) + 256


def _dpkg_part(a: str, b: str) -> int:
    i = j = 0
    while i < len(a) or j < len(b):
        first_diff = 0
        while (i < len(a) and not a[i].isdigit()) or (j < len(b) and not b[j].isdigit()):
            ac = _dpkg_order(a[i]) if i < len(a) and not a[i].isdigit() else 0
            bc = _dpkg_order(b[j]) if j < len(b) and not b[j].isdigit() else 0
            if ac != bc:
                return -1 if ac < bc else 1
            i += 1
            j += 1
        while i < len(a) and a[i] == "0":
            i += 1
        while j < len(b) and b[j] == "0":
            j += 1
        while i < len(a) and a[i].isdigit() and j < len(b) and b[j].isdigit():
            if not first_diff:
                first_diff = ord(a[i]) - ord(b[j])
            i += 1
            j += 1
        if i < len(a) and a[i].isdigit():
            return 1
        if j < len(b) and b[j].isdigit():
            return -1
        if first_diff:
            return -1 if first_diff < 0 else 1
    return 0


def dpkg_compare(a: str, b: str) -> int:
    """Debian's version ordering (``dpkg --compare-versions``) for ``[epoch:]upstream[-revision]``."""

    def split(v: str) -> tuple[int, str, str]:
        epoch, _, rest = v.rpartition(":") if ":" in v else ("0", "", v)
        upstream, _, rev = rest.rpartition("-") if "-" in rest else (rest, "", "0")
        return int(epoch or 0), upstream, rev

    ea, ua, ra = split(a)
    eb, ub, rb = split(b)
    if ea != eb:
        return -1 if ea < eb else 1
    return _dpkg_part(ua, ub) or _dpkg_part(ra, rb)
