"""The edge: the clock, the poll loop (`schedule`), the single-watcher lock and the log file.

Everything here is thin; the work is ingest.run_pass, which is tested without sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from pathlib import Path
from contextlib import contextmanager

import schedule
from filelock import FileLock, Timeout

from xlflow import constants as K
from xlflow import messages as M
from xlflow.errors import XlflowError, explain
from xlflow.ingest import PassResult, has_unfinished, run_pass, settled
from xlflow.ledger import guard_ledger
from xlflow.intake import Snapshot
from xlflow.outputs import outputs_stale, rebuild_outputs
from xlflow.status import inbox_waiting
from xlflow.workspace import Workspace

log = logging.getLogger("xlflow")
LOCK_FILE = "xlflow.lock"
SETTLE_SECONDS = 2  # how soon the inbox is looked at again while a file is still being copied


def setup_logging(ws: Workspace) -> logging.Handler:
    """Log to this working folder's xlflow.log (and nowhere else: a handler left by a run in
    another folder, in the same process, is removed). Returns the handler, for teardown_logging."""
    for h in [h for h in log.handlers if isinstance(h, logging.FileHandler)]:
        teardown_logging(h)
    handler = logging.FileHandler(ws.log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


def teardown_logging(handler: logging.Handler) -> None:
    log.removeHandler(handler)
    handler.close()  # on Windows an open log file cannot be moved or deleted


@contextmanager
def session(ws: Workspace):
    """One `xlflow ingest` or `xlflow watch` run: hold the folder's lock and log to its xlflow.log."""
    lk = acquire(ws)
    try:
        handler = setup_logging(ws)
        try:
            yield
        finally:
            teardown_logging(handler)
    finally:
        lk.release()


def lock(ws: Workspace) -> FileLock:
    """Only one watcher (or ingest) per working folder; the lock library works on Windows too."""
    ws.root.mkdir(parents=True, exist_ok=True)
    return FileLock(str(ws.root / LOCK_FILE), timeout=0)


class Poller:
    """Remembers the inbox between polls, so a file is taken only once it has settled.

    quiet: seconds the inbox must have been quiet (nothing arriving, nothing taken) before the
    outputs are rebuilt after a pass that changed the ledger, so that a burst of returns costs one
    rebuild, not one each (watch); None rebuilds right after the pass (`xlflow ingest`). Until
    then the outputs are stale, which outputs_stale() sees: a watcher stopped meanwhile leaves
    them to the next run."""

    def __init__(self, ws: Workspace, on_result=None, on_error=None, on_waiting=None, quiet: float | None = None):
        self.ws, self.on_result, self.on_error, self.on_waiting = ws, on_result, on_error, on_waiting
        self.quiet = quiet
        self.snapshots: dict[str, Snapshot] = {}
        self.last_error: str | None = None
        self.arriving: tuple[list[str], list[str]] = ([], [])  # (still being copied, partial downloads)
        self.polled_at = 0.0
        self.busy_at = float("-inf")  # when a file was last seen arriving or taken in
        self.pending = False  # the ledger changed and its outputs wait for the inbox to be quiet
        self.waiting: list[str] = []  # files seen but not settled at the last poll

    def quiet_enough(self) -> bool:
        return self.quiet is None or time.monotonic() - self.busy_at >= self.quiet

    def poll(self) -> PassResult | None:
        guard_ledger(self.ws)  # before anything opens (and so creates) the ledger
        self.polled_at = time.monotonic()
        ready, changing, self.snapshots = settled(self.ws.inbox, self.snapshots)
        self._arriving([p.name for p in changing], inbox_waiting(self.ws.inbox)[1])
        self.waiting = [p.name for p in changing]
        if ready or changing:
            self.busy_at = self.polled_at
        unfinished = bool(ready) or has_unfinished(self.ws)
        stale = outputs_stale(self.ws)  # a run that died before rebuilding them, whatever stopped it
        if not unfinished and not (stale and self.quiet_enough()):
            return None
        now = dt.datetime.now().replace(microsecond=0)
        result = run_pass(self.ws, ready, now) if unfinished else PassResult()
        if ready:  # quiet is counted from the end of a pass that took files
            self.busy_at = time.monotonic()
        if unfinished:
            counts = {k: sum(o.outcome == k for o in result.outcomes) for k in K.OUTCOME_NAMES}
            log.info("本次处理完毕：%s%s", "，".join(f"{name} {counts[k]} 份" for k, name in K.OUTCOME_NAMES.items()),
                     f"；暂未处理 {len(result.waiting)} 份" if result.waiting else "")
        if result.changed or stale:  # outputs are a function of the ledger: rebuild them when it changed
            if self.quiet_enough():
                self.pending = False  # (a failed rebuild is retried at the next poll: the outputs stay stale)
                result.rebuilt = rebuild_outputs(self.ws, now, result.campaign)
                log.info("已更新汇总表 %s，文书 %d 份", result.rebuilt.master, len(result.rebuilt.reports.written))
            elif not self.pending:
                self.pending = True
                log.info("收件箱安静 %s 秒后更新汇总表和文书", self.quiet)
        if self.on_result:
            self.on_result(result)
        return result

    def _arriving(self, changing: list[str], partial: list[str]) -> None:
        """Say which files are still arriving as soon as they appear, and once (not every poll)."""
        before = self.arriving
        self.arriving = (changing, partial)
        new = [n for n in changing if n not in before[0]], [n for n in partial if n not in before[1]]
        if any(new):
            log.info("等待文件复制完成：%s", "、".join(changing + partial))
            if self.on_waiting:
                self.on_waiting(*new)

    def safe_poll(self) -> None:
        """One failing pass never stops the loop: it is logged and the next poll tries again.
        The same error again (say, a checklist left broken overnight) is logged once, not every poll."""
        try:
            self.poll()
        except XlflowError as exc:
            self._failed(f"本次处理未完成：{exc}", exc_info=False)
        except Exception as exc:  # said in Chinese; the traceback goes to the log only
            self._failed(f"本次处理出错，下次将重试：{explain(exc, self.ws.root)}", exc_info=True)
        else:
            if self.last_error is not None:
                log.info("已恢复正常处理。")
                self.last_error = None

    def _failed(self, message: str, exc_info: bool) -> None:
        if message == self.last_error:
            return
        self.last_error = message
        log.error(message, exc_info=exc_info)
        if self.on_error:
            self.on_error(message)


def _touched(path: Path) -> float:
    """When a file was last written or (re)created: ctime too, since a copy may carry its source's
    mtime (ctime is the copy's creation on Windows, its last change on POSIX)."""
    try:
        st = path.stat()
    except OSError:
        return time.time()
    return max(st.st_mtime, st.st_ctime)


def ingest_once(ws: Workspace, settle_seconds: float = 1.0) -> PassResult:
    """`xlflow ingest`: two looks at the inbox, settle_seconds apart, then one pass. The wait is
    only as long as the newest file needs: a file untouched for settle_seconds already has two
    looks' worth of stillness (a clerk's one corrected return is not kept waiting a second)."""
    poller = Poller(ws)
    _, _, poller.snapshots = settled(ws.inbox, {})
    newest = max((_touched(ws.inbox / name) for name in poller.snapshots), default=0.0)
    time.sleep(max(0.0, min(settle_seconds, newest + settle_seconds - time.time())))
    try:
        result = poller.poll() or PassResult()
    except XlflowError as exc:
        log.error("本次处理未完成：%s", exc)
        raise
    result.waiting += [n for n in poller.waiting if n not in result.waiting]  # said, never silent
    return result


def watch(ws: Workspace, every: int, on_result=None, stop_after: float | None = None, on_error=None,
          on_waiting=None, stop=None, quiet: float | None = None) -> None:
    """Poll every `every` seconds until Ctrl-C (or, for tests, stop_after seconds or until stop() is true).
    While a file is still arriving the inbox is looked at again after SETTLE_SECONDS, so a return is
    taken a moment after its copy ends rather than a whole interval or two later. The outputs are
    rebuilt once the inbox has been quiet for `quiet` seconds (default: the quiet_seconds setting)."""
    if every < 1:  # schedule loops forever on an interval of 0 or less
        raise XlflowError(M.WATCH_INTERVAL.format(every=every))
    poller = Poller(ws, on_result, on_error, on_waiting, ws.settings().quiet_seconds if quiet is None else quiet)
    scheduler = schedule.Scheduler()
    scheduler.every(every).seconds.do(poller.safe_poll)
    started = time.monotonic()
    try:
        log.info("开始监视收件箱 %s，每 %s 秒检查一次", ws.inbox, every)
        poller.safe_poll()
        while (stop_after is None or time.monotonic() - started < stop_after) and not (stop and stop()):
            scheduler.run_pending()
            if poller.arriving[0] and time.monotonic() - poller.polled_at >= SETTLE_SECONDS:
                poller.safe_poll()
            elif poller.pending and poller.quiet_enough():  # the burst is over: one rebuild for it
                poller.safe_poll()
            time.sleep(min(0.5, every))
    except KeyboardInterrupt:
        pass
    finally:
        log.info("停止监视收件箱")


def acquire(ws: Workspace) -> FileLock:
    lk = lock(ws)
    try:
        lk.acquire()
    except Timeout:
        raise XlflowError(M.WATCH_BUSY.format(root=ws.root)) from None
    return lk
