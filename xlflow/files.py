"""Small file helpers shared by every stage that writes: outputs appear whole or not at all."""

from __future__ import annotations

import hashlib

import atexit
import json
import os
import re
import secrets
import shutil
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

# Temporary files of a run live in its own folder, outbox/.xlflow-tmp/<pid>-<random>/, locked for
# as long as the process lives: a run killed midway leaves them there, and the next run's sweep
# removes every folder whose lock it can take (its owner is gone), never one still at work.
SCRATCH = ".xlflow-tmp"
_claimed: tuple[Path, FileLock] | None = None
_LEGACY_TMP = re.compile(r"\..*\.tmp|tmp[a-z0-9_]{8}")  # beside the outputs, before the folder existed
_LEGACY_AGE = 600  # seconds: such a file that old belongs to no running process


def claim_scratch(outbox: Path | str) -> Path | None:
    """This process's folder for temporary files under outbox (created and locked once); None
    when it cannot be made (a read-only disk: temporary files then go beside their output)."""
    global _claimed
    base = Path(outbox) / SCRATCH
    if _claimed is not None and _claimed[0].parent == base and _claimed[0].is_dir():
        return _claimed[0]
    folder = base / f"{os.getpid()}-{secrets.token_hex(4)}"
    try:
        folder.mkdir(parents=True)
        lock = FileLock(str(folder / ".lock"), timeout=0)
        lock.acquire()
    except (OSError, Timeout):
        return None
    _claimed = (folder, lock)
    atexit.register(_release, folder, lock)
    return folder


def _release(folder: Path, lock: FileLock) -> None:
    """At a normal exit the folder goes with its process (a killed one's is swept next time)."""
    lock.release()
    shutil.rmtree(folder, ignore_errors=True)
    try:
        folder.parent.rmdir()  # the last one out removes .xlflow-tmp too
    except OSError:
        pass


def scratch_dir(beside: Path) -> Path:
    """Where a temporary file for an output in the folder `beside` goes: this process's claimed
    folder when it is in the same outbox (renaming into place stays atomic), else beside it."""
    if _claimed is not None and _claimed[0].is_dir():
        outbox = _claimed[0].parent.parent
        if Path(os.path.abspath(beside)).is_relative_to(os.path.abspath(outbox)):
            return _claimed[0]
    return beside


def sweep_scratch(outbox: Path | str) -> int:
    """Remove what killed runs left: the temporary folders of processes that are gone, and old
    temporary files beside the outputs from before (`.x.abc.tmp`, xlsxwriter's `tmpabcd1234`).
    Returns how many files were removed. Never fails: a file in use is left for the next time."""
    outbox, removed = Path(outbox), 0
    base = outbox / SCRATCH
    for folder in sorted(base.iterdir()) if base.is_dir() else []:
        if _claimed is not None and folder == _claimed[0]:
            continue
        lock = FileLock(str(folder / ".lock"), timeout=0)
        try:
            lock.acquire()
        except (Timeout, OSError):
            continue  # its process is still writing
        try:
            removed += sum(1 for p in folder.iterdir() if p.name != ".lock")
        finally:
            lock.release()
        shutil.rmtree(folder, ignore_errors=True)
    cutoff = time.time() - _LEGACY_AGE
    for p in outbox.rglob("*") if outbox.is_dir() else []:
        try:
            if (SCRATCH not in p.parts and _LEGACY_TMP.fullmatch(p.name) and p.is_file()
                    and p.stat().st_mtime < cutoff):
                p.unlink()
                removed += 1
        except OSError:
            pass
    return removed


@contextmanager
def naming(dest: Path | str):
    """An OSError that says no file (a write() on a full disk) is raised again naming `dest`, so
    that the clerk is told which folder to free or make writable."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(dest)) from exc
        raise


@contextmanager
def atomic_path(dest: Path | str):
    """Yield a temporary path beside dest; on success rename it into place (os.replace is atomic
    on one volume, on Windows too), on failure remove it. A crash leaves only a *.tmp file."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem[:40]}.", suffix=".tmp", dir=scratch_dir(dest.parent))
    os.close(fd)
    tmp = Path(tmp)
    try:
        with naming(dest):
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


def code_fingerprint(*modules) -> str:
    """A hash of the modules' source, part of every cache key: a cache filled by other code (an
    upgrade, a fix) is not used."""
    h = hashlib.sha1()
    for m in modules:
        try:
            h.update(Path(m.__file__).read_bytes())
        except (OSError, TypeError, AttributeError):  # no source beside it (a frozen build)
            h.update(repr(getattr(m, "__name__", m)).encode())
    return h.hexdigest()[:16]


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes, read in blocks (returns can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def content_hash(tables: dict[str, list[dict]], **head) -> str:
    """A checked return's content (its tables without the Excel rows, and what heads them): the
    same content saved again gives the same hash, whatever the file's bytes."""
    data = {**head, "tables": {k: [_without_row(r) for r in rows] for k, rows in tables.items()}}
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _without_row(r: dict) -> dict:
    r = dict(r)  # a C-level copy, then one key out: faster than a filtering comprehension
    r.pop("_row", None)
    return r


# ---- worker processes that never outlive the command ----
def _exit_with_parent() -> None:
    """A pool worker's initializer: a thread that ends the worker when the command that started it
    is gone. A command killed with kill -9 (or ended from the Task Manager) cannot tell its workers
    to stop, and they would otherwise wait for work for ever."""
    import multiprocessing
    import threading
    from multiprocessing.connection import wait

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="xlflow-parent-watch", daemon=True).start()


def worker_pool(workers: int, spawn: bool = False):
    """A process pool whose workers exit when the command that started them dies."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn") if spawn else None
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_exit_with_parent)
