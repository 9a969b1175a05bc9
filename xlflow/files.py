"""Small file helpers shared by every stage that writes: outputs appear whole or not at all."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(dest: Path | str):
    """Yield a temporary path beside dest; on success rename it into place (os.replace is atomic
    on one volume, on Windows too), on failure remove it. A crash leaves only a *.tmp file."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem[:40]}.", suffix=".tmp", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(dest: Path | str, data: bytes) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_bytes(data)


def safe_filename(text: str) -> str:
    """A file name Windows accepts: no reserved characters, no trailing dot or space."""
    bad = '<>:"/\\|?*'
    cleaned = "".join("_" if c in bad or ord(c) < 32 else c for c in text).strip(" .")
    return cleaned or "_"


# What every filesystem the clerks use takes: ext4 counts a name's UTF-8 bytes, NTFS and exFAT its
# UTF-16 units (255 each), and Windows programs (Explorer, Excel, zip tools) stop at a whole path
# of 259 characters (MAX_PATH less its NUL). A Chinese character is 3 bytes in UTF-8.
NAME_BYTES, NAME_UNITS, WINDOWS_PATH = 255, 255, 259


def fit_filename(name: str, folder: Path | str | None = None, tail: str = "") -> str:
    """safe_filename(name + tail), shortened from the end of `name` (its extension, and `tail`,
    kept) until it fits every filesystem and, with `folder`, a Windows path. Callers keep the
    full name elsewhere (the ledger) and put what makes the name unique where it is not cut."""
    name, tail = safe_filename(name), safe_filename(tail) if tail else ""
    if not tail:
        stem, dot, ext = name.rpartition(".")
        if dot and stem and len(ext) <= 10:
            name, tail = stem, f".{ext}"
    room = NAME_UNITS
    if folder is not None:  # a folder that deep still gets a name, however short
        room = max(min(room, WINDOWS_PATH - len(os.path.join(os.path.abspath(folder), ""))), 16)

    def fits(text: str) -> bool:
        return (len(text.encode("utf-8", "surrogateescape")) <= NAME_BYTES
                and len(text.encode("utf-16-le", "surrogatepass")) // 2 <= room)
    while name and not fits(name + tail):
        name = name[:-1]
    return (name.rstrip(" .") or "_") + tail
