"""Path safety for imports requested over RPC: only files inside FEEDS_DIR are read."""

from __future__ import annotations

import os
from pathlib import Path

from rampart_threat.feeds.domain import FeedPathRefused


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def resolve_under(feeds_dir: Path | None, requested: str) -> Path:
    """``requested`` (relative to FEEDS_DIR, or absolute) resolved, if it stays inside FEEDS_DIR.

    Symlinks are resolved before the check, so a link pointing out of the directory is refused;
    in a directory tree every link is checked the same way.
    """
    if feeds_dir is None:
        raise FeedPathRefused("imports over RPC are off: FEEDS_DIR is not set")
    if not requested or "\x00" in requested:
        raise FeedPathRefused("an import path is required")
    try:
        root = feeds_dir.resolve(strict=True)
        candidate = Path(requested) if Path(requested).is_absolute() else root / requested
        resolved = candidate.resolve(strict=True)
    except (OSError, RuntimeError) as error:
        raise FeedPathRefused("no such file under FEEDS_DIR", path=requested) from error
    if not _inside(resolved, root):
        raise FeedPathRefused("the path is outside FEEDS_DIR", path=requested)
    if resolved.is_dir():
        for directory, subdirs, files in os.walk(resolved):
            for name in [*subdirs, *files]:
                entry = Path(directory) / name
                if entry.is_symlink() and not _inside(entry.resolve(), root):
                    raise FeedPathRefused(
                        "a symlink in the directory leads outside FEEDS_DIR", path=requested
                    )
    return resolved
