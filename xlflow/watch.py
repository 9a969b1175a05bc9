"""The edge: the clock, the poll loop (`schedule`), the single-watcher lock and the log file.

Everything here is thin; the work is ingest.run_pass, which is tested without sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

import schedule
from filelock import FileLock, Timeout

from xlflow.errors import XlflowError
from xlflow.ingest import PassResult, run_pass, settled
from xlflow.intake import Snapshot
from xlflow.workspace import Workspace

log = logging.getLogger("xlflow")
LOCK_FILE = "xlflow.lock"


def setup_logging(ws: Workspace) -> None:
    if any(isinstance(h, logging.FileHandler) for h in log.handlers):
        return
    handler = logging.FileHandler(ws.log, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)


def lock(ws: Workspace) -> FileLock:
    """Only one watcher (or ingest) per working folder; the lock library works on Windows too."""
    ws.root.mkdir(parents=True, exist_ok=True)
    return FileLock(str(ws.root / LOCK_FILE), timeout=0)


class Poller:
    """Remembers the inbox between polls, so a file is taken only once it has settled."""

    def __init__(self, ws: Workspace, on_result=None):
        self.ws, self.on_result = ws, on_result
        self.snapshots: dict[str, Snapshot] = {}

    def poll(self) -> PassResult | None:
        ready, _, self.snapshots = settled(self.ws.inbox, self.snapshots)
        if not ready:
            return None
        result = run_pass(self.ws, ready, dt.datetime.now().replace(microsecond=0))
        if self.on_result:
            self.on_result(result)
        return result

    def safe_poll(self) -> None:
        """One failing pass never stops the loop: it is logged and the next poll tries again."""
        try:
            self.poll()
        except XlflowError as exc:
            log.error("本次处理未完成：%s", exc)
        except Exception:
            log.exception("本次处理出错，下次将重试")


def ingest_once(ws: Workspace, settle_seconds: float = 1.0) -> PassResult:
    """`xlflow ingest`: two looks at the inbox, settle_seconds apart, then one pass."""
    poller = Poller(ws)
    _, _, poller.snapshots = settled(ws.inbox, {})
    time.sleep(settle_seconds)
    return poller.poll() or PassResult()


def watch(ws: Workspace, every: int, on_result=None, stop_after: float | None = None) -> None:
    """Poll every `every` seconds until Ctrl-C (or stop_after seconds, for tests)."""
    poller = Poller(ws, on_result)
    scheduler = schedule.Scheduler()
    scheduler.every(every).seconds.do(poller.safe_poll)
    log.info("开始监视收件箱 %s，每 %s 秒检查一次", ws.inbox, every)
    started = time.monotonic()
    try:
        poller.safe_poll()
        while stop_after is None or time.monotonic() - started < stop_after:
            scheduler.run_pending()
            time.sleep(min(1.0, every))
    except KeyboardInterrupt:
        pass
    finally:
        log.info("停止监视收件箱")


def acquire(ws: Workspace) -> FileLock:
    lk = lock(ws)
    try:
        lk.acquire()
    except Timeout:
        raise XlflowError(f"工作目录“{ws.root}”已有一个 xlflow 正在处理收件箱（xlflow watch 或 xlflow ingest），"
                          "请等它结束，或先关闭它。") from None
    return lk
