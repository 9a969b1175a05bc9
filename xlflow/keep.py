"""Putting a rebuilt output in place without ever overwriting a person's edit of it.

Outputs are a pure function of the ledger and are rebuilt after every pass, but a clerk may have
edited and saved one (the master invites trying a parameter). What xlflow wrote is recorded by
sha256 in a sidecar manifest; a file on disk that is not what xlflow wrote is moved aside under a
dated name before the new one takes its place, and a file that is open elsewhere (locked on
Windows) is left alone while the new one goes beside it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from xlflow.files import atomic_write_bytes, scratch_dir, sha256_of


@dataclass
class Written:
    path: Path  # where the new file is
    in_place: bool  # False: dest was open elsewhere, the new one sits beside it
    kept: Path | None = None  # where a person's edited copy of dest was kept, if it had been edited


def manifest_path(dest: Path) -> Path:
    """The sidecar that records what xlflow wrote at dest (for outbox/master.xlsx: outbox/.master.json)."""
    return dest.with_name(f".{dest.stem}.json")


def _written_shas(dest: Path) -> set[str]:
    try:
        return set(json.loads(manifest_path(dest).read_text(encoding="utf-8")).get("sha256", []))
    except (OSError, ValueError, AttributeError):
        return set()


def _record_written(dest: Path, shas: list[str], now: dt.datetime) -> None:
    data = {"file": dest.name, "sha256": shas, "written_at": now.isoformat()}
    atomic_write_bytes(manifest_path(dest), json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))


def edited_name(dest: Path) -> Path:
    """master（已修改-YYYYMMDD-HHMM）.xlsx, from when the clerk saved it; -2, -3… if that is taken."""
    saved = dt.datetime.fromtimestamp(dest.stat().st_mtime)
    base = f"{dest.stem}（已修改-{saved:%Y%m%d-%H%M}）"
    out, n = dest.with_name(base + dest.suffix), 1
    while out.exists():
        n += 1
        out = dest.with_name(f"{base}-{n}{dest.suffix}")
    return out


def _beside(tmp: Path, dest: Path, now: dt.datetime) -> Path:
    beside = dest.with_name(f"{dest.stem}_{now:%Y%m%d-%H%M%S}{dest.suffix}")
    os.replace(tmp, beside)
    return beside


def put_in_place(write: Callable[[Path], None], dest: Path, now: dt.datetime) -> Written:
    """write(tmp) builds the output beside dest; then it is renamed into place. A dest that is not
    what xlflow last wrote there (edited and saved by a person, or with no record) is first moved
    aside to edited_name(dest). If dest is locked (open in Excel), the new one is kept beside it
    with a timestamp and dest is left as it is."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    # in the command's own scratch folder (files.scratch_dir), which a later run sweeps if this one is killed
    fd, name = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=".tmp", dir=scratch_dir(dest.parent))
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        sha, known = sha256_of(tmp), _written_shas(dest)
        old = sha256_of(dest) if dest.exists() else None
        kept = None
        if old is not None and old not in known:
            kept = edited_name(dest)
            try:
                os.replace(dest, kept)
            except PermissionError:  # open in Excel (Windows): it cannot be replaced either
                return Written(_beside(tmp, dest, now), False)
        # While the rename happens both versions count as xlflow's: a crash between is no false alarm.
        _record_written(dest, [sha] + ([old] if old in known else []), now)
        try:
            os.replace(tmp, dest)
        except PermissionError:
            return Written(_beside(tmp, dest, now), False, kept)
        _record_written(dest, [sha], now)
        return Written(dest, True, kept)
    finally:
        tmp.unlink(missing_ok=True)
