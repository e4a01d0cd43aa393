"""Downloading a feed file from a URL the operator configured (``FEED_URL_<KIND>``; none by default).

Nothing is ever downloaded unless an operator sets one of those variables and runs
``python -m rampart_threat.feeds fetch <kind>``. The file is written next to where it will be imported
(``FEEDS_DIR``, else a temporary directory), under a ``.part`` name until complete.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

from rampart.lib.errors import InvalidArgument

MAX_BYTES = 4 << 30  # larger than any feed file (the CVE list's zip is ~0.5 GB)
CHUNK = 1 << 20


class FeedUrlRefused(InvalidArgument):
    """Not an http(s) URL, or the download is larger than any feed."""


def download(url: str, directory: Path, timeout: float = 120.0) -> Path:
    """Download ``url`` into ``directory`` (its last path segment as the name); the file's path."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FeedUrlRefused("a feed URL must be http:// or https://", field="url")
    name = Path(unquote(parts.path)).name or "feed"
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    partial = directory / f"{name}.part"
    request = urllib.request.Request(url, headers={"User-Agent": "rampart-feeds"})  # noqa: S310 (http(s) only)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, partial.open("wb") as out:  # noqa: S310
            written = 0
            while chunk := response.read(CHUNK):
                written += len(chunk)
                if written > MAX_BYTES:
                    raise FeedUrlRefused(f"{url} is larger than {MAX_BYTES >> 30} GiB", field="url")
                out.write(chunk)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target
