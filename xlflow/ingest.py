"""stage: the files in inbox/ → the ledger, inbox/{accepted,rejected,duplicates}/ and feedback.

One pass: recover what a previous pass left unfinished, then take the settled files a chunk at a
time (so that a pass's memory does not grow with its size): sniff and limit each (intake), read,
identify, validate the chunk at once, and for each file record the outcome in the ledger (one
transaction); once the chunk's records are on disk, move each original, then write its feedback.
Each step is recorded, so a crash anywhere is completed by the next pass and no file is ever lost.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import errno
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from xlflow import constants as K
from xlflow import ledger
from xlflow.errors import explain
from xlflow.files import fit_filename, safe_filename, sha256_of
from xlflow.identify import identify
from xlflow.intake import Snapshot, inspect, is_ignored, is_settled, snapshot
from xlflow.messages import Code, Finding, Report, finding
from xlflow.read import read_workbook
from xlflow.carry import carried
from xlflow.chain import load_facts
from xlflow.review_read import CheckedReview, read_review
from xlflow.validate import Checked, Validator
from xlflow.campaign import Campaign
from xlflow.workspace import Workspace

log = logging.getLogger("xlflow")


@dataclass
class Outcome:
    name: str
    outcome: str  # accepted | rejected | duplicate
    branch_code: str | None = None
    errors: int = 0
    warnings: int = 0
    feedback: str | None = None
    message: str = ""
    details: list[str] = field(default_factory=list)  # every finding's message, errors first (for the console)


@dataclass
class PassResult:
    outcomes: list[Outcome] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # not settled yet, or could not be moved
    rebuilt: object = None  # outputs.Rebuilt, set by the edge when it rebuilt the outputs
    campaign: Campaign | None = None  # what the pass judged with: the rebuild after it needs no second reading

    @property
    def changed(self) -> bool:
        return any(o.outcome == ledger.ACCEPTED for o in self.outcomes)


def candidates(inbox: Path) -> list[Path]:
    """Top-level files of the inbox that are not lock, temp or partial-download files."""
    if not inbox.is_dir():
        return []
    return sorted(p for p in inbox.iterdir() if p.is_file() and not is_ignored(p.name))


GRACE_SECONDS = 300  # a zip unchanged this long and still incomplete is not being copied any more


def settled(inbox: Path, previous: dict[str, Snapshot], clock=time.time) -> tuple[list[Path], list[Path], dict[str, Snapshot]]:
    """(ready, still changing, snapshots for the next poll). A file is ready once it looked the
    same over two polls and its zip is complete; the caller decides how long a poll is. A zip
    that stays incomplete, untouched for GRACE_SECONDS, is ready too: intake rejects it (F107,
    没有复制完整) instead of it sitting in the inbox unseen for ever."""
    ready, waiting, now = [], [], {}
    for p in candidates(inbox):
        try:
            snap = snapshot(p)
        except OSError:
            waiting.append(p)
            continue
        now[p.name] = snap
        stuck = previous.get(p.name) == snap and clock() - snap.mtime_ns / 1e9 > GRACE_SECONDS
        (ready if is_settled(previous.get(p.name), snap, p) or stuck else waiting).append(p)
    return ready, waiting, now


def _stored_name(now: dt.datetime, sha: str, name: str, folder: Path) -> str:
    """Time and hash first (unique), then as much of the original name as fits (ledger keeps it all)."""
    return fit_filename(f"{now:%Y%m%d-%H%M%S}_{sha[:8]}_{name}", folder)


REPLACED = "replaced"  # _move: the file in the inbox is no longer what was recorded


def _move(ws: Workspace, row) -> bool | str:
    """Move a recorded original into place; False (retried next pass) if it is locked, REPLACED
    if a clerk overwrote it in the inbox after it was read (it is put back: the next pass takes
    the new content in, and what is archived is only ever what was recorded)."""
    src, dest = ws.inbox / row["original_name"], ws.root / row["stored_as"]
    if dest.exists():
        return _verify(ws, row, src, dest)
    try:
        os.replace(src, dest)
    except PermissionError as exc:
        if exc.errno == errno.EPERM:  # an immutable or protected file, not one open elsewhere
            log.warning("文件“%s”被设为不可修改或没有权限，无法移动；请取消其只读（不可修改）属性，"
                        "或检查文件权限，下次处理时重试。", src.name)
        else:  # open in Excel on Windows: try again next pass
            log.warning("文件“%s”正被其他程序打开，暂时无法移动，下次处理时重试。", src.name)
        return False
    except OSError as exc:  # a share gone away, a full disk: the record stands, the move is retried
        log.warning("文件“%s”暂时无法移动（%s），下次处理时重试。", src.name, explain(exc, ws.root))
        return False
    return _verify(ws, row, src, dest)


def _verify(ws: Workspace, row, src: Path, dest: Path) -> bool | str:
    """Check the bytes just archived against the record (moved first, then hashed: nothing can
    change them in between); put a replaced file back into the inbox."""
    if sha256_of(dest) == row["sha256"]:
        return True
    back = src
    if back.exists():  # yet another copy under that name arrived meanwhile: keep both
        back = src.with_name(f"{src.stem}（{dt.datetime.now():%H%M%S}）{src.suffix}")
    os.replace(dest, back)
    log.warning("文件“%s”在读取之后被替换了：台账记录的是原来的内容（原文件已不在），新的内容留在收件箱，下次处理。",
                src.name)
    return REPLACED


def recover(conn, ws: Workspace, campaign: Campaign) -> int:
    """Finish moves and feedback that an interrupted pass left undone. Returns how many."""
    done = 0
    moves = ledger.pending_moves(conn)
    if moves:  # records a killed pass committed but did not flush go to disk before their files move
        ledger.sync(conn)
    for row in moves:
        row = _refit(conn, ws, row)
        src, dest = ws.inbox / row["original_name"], ws.root / row["stored_as"]
        if dest.exists() or src.exists() and sha256_of(src) == row["sha256"]:
            moved = _move(ws, row)
            if not moved:
                continue
            ledger.set_moved(conn, row["id"], *((-1, _GONE) if moved == REPLACED else ()))
        else:
            ledger.set_moved(conn, row["id"], -1, _GONE)
        done += 1
    for row in ledger.pending_feedback(conn):
        row = _refit(conn, ws, row, ("feedback",))
        _write_feedback(conn, ws, row, ledger.findings_of(conn, row["id"]), campaign)
        done += 1
    # A half-written feedback of a killed pass; its owner is rewritten above. Only the feedback
    # folder: the rest of outbox/ belongs to other commands (`xlflow master` may be writing there).
    for tmp in list(ws.feedback.glob(".*.tmp")) if ws.feedback.exists() else []:
        tmp.unlink(missing_ok=True)
    return done


def _refit(conn, ws: Workspace, row, cols=("stored_as", "feedback")):
    """A record made before stored names were fitted to the filesystem (a name too long to move
    into place, retried forever): its stored and feedback names shortened as new ones are."""
    names = {}
    for col in cols:
        if row[col]:
            dest = ws.root / row[col]
            fitted = fit_filename(dest.name, dest.parent)
            if fitted != dest.name:
                names[col] = (dest.parent / fitted).relative_to(ws.root).as_posix()
    if not names:
        return row
    ledger.set_names(conn, row["id"], **names)
    return ledger.file_row(conn, row["id"])


def has_unfinished(ws: Workspace) -> bool:
    """Whether a killed pass left work behind (moves, feedback, half-written files): the next poll
    must run a pass for it even when the inbox is empty."""
    if ws.feedback.exists() and any(ws.feedback.glob(".*.tmp")):
        return True
    if not ws.ledger.exists():
        return False
    conn = ledger.open_ledger(ws.ledger)
    try:
        return bool(ledger.pending_moves(conn) or ledger.pending_feedback(conn))
    finally:
        conn.close()


def _write_feedback(conn, ws: Workspace, row, findings: list[Finding], campaign: Campaign) -> None:
    # imported here: openpyxl (0.2 s) is needed only when a file is sent back, not for an accepted one
    from xlflow.feedback import write_feedback, write_unreadable_note

    stored, dest = ws.root / row["stored_as"], ws.root / row["feedback"]
    received = dt.datetime.fromisoformat(row["arrived_at"])
    branch, settings = campaign.by_code.get(row["branch_code"] or ""), campaign.settings
    readable = any(f.file_was_read for f in findings) and not any(f.code == Code.I101.code for f in findings)
    what = f"{K.REVIEW_ROUNDS[row['kind']]}工作簿" if row["kind"] in K.REVIEW_ROUNDS else "填报表"
    if readable and row["branch_code"]:
        write_feedback(stored, dest, findings, branch_name=branch.name if branch else row["branch_code"],
                       settings=settings, received=received, what=what)
    else:
        write_unreadable_note(dest, row["original_name"], findings, settings)
    ledger.set_feedback_done(conn, row["id"])


def run_pass(ws: Workspace, ready: list[Path], now: dt.datetime, stored: dict[Path, Path] | None = None) -> PassResult:
    """Take the given settled inbox files in; `now` is the clock reading (the edge passes it).
    `stored`: for a rebuild of the ledger, where each file is archived already (not moved)."""
    if not stored:
        ledger.guard_ledger(ws)
    ws.make_dirs()
    conn = ledger.open_ledger(ws.ledger)
    frozen = gc.get_freeze_count() > 0  # someone else's use of gc.freeze: then leave gc alone
    try:
        with ledger.group_commit(conn):  # one flush to disk per pass, not per file: see _file_away
            result = _run(conn, ws, ready, now, frozen, stored or {})
        if result.outcomes and not stored:
            _backup(conn, ws, now)
        return result
    finally:
        if not frozen:
            gc.unfreeze()
        conn.close()


def _backup(conn, ws: Workspace, now: dt.datetime) -> None:
    """After a pass that recorded something: so that the ledger is never the only copy."""
    try:
        ledger.backup(conn, ws.backups, f"{now:%Y%m%d-%H%M%S}")
    except (OSError, sqlite3.Error) as exc:  # a full disk must not undo the pass: said, retried next time
        log.warning("台账备份未能写入 %s（%s），下次处理时再备份。", ws.backups, exc)


_SET_ASIDE_EVERY = 20  # files read


def _set_aside(frozen: bool) -> None:
    """Put what is alive now out of the cyclic garbage collector's sight until the chunk ends
    (_run unfreezes it and collects, run_pass at the end). A pass holds the data of every file
    of a chunk until all are recorded; else each full collection walks all of it again: 7% of the
    CPU of a pass of 180 returns, 10 of them rejected with feedback (bench/tricks_bench.py;
    openpyxl's churn in writing feedback sets off many collections). Young garbage is collected
    first, so what is set aside is what is reachable; reference counting still frees it."""
    if not frozen:
        gc.collect(1)
        gc.freeze()


@dataclass
class _Pass:
    """What every file of one pass is recorded against, and the files recorded but not yet filed
    away (moved into place, feedback written): (file id, findings)."""
    ws: Workspace
    now: dt.datetime
    campaign: Campaign
    archive: dict[Path, Path]  # for a rebuild of the ledger: where each file is archived already
    taken: list[tuple[int, list[Finding]]] = field(default_factory=list)


CHUNK = 250  # returns read, validated, recorded and filed away at a time: a pass's memory does not
# grow with its size (a parsed return holds ≈0.18 MB until it is recorded: 15,000 would be 2.7 GB)


def _run(conn, ws: Workspace, ready: list[Path], now: dt.datetime, frozen: bool = False,
         stored: dict[Path, Path] | None = None) -> PassResult:
    campaign = ws.campaign()
    branches = campaign.by_code
    recover(conn, ws, campaign)
    result = PassResult(campaign=campaign)
    ctx = _Pass(ws, now, campaign, stored or {})
    before = carried(ws.root, branches, {c: b.origin for c, b in branches.items() if b.origin})  # earlier years
    validator = Validator(campaign, before)
    later, seen, replaced = [], {}, []
    reviews = []  # 初验/复验 workbooks (a few per campaign): checked once every return is in
    for start in range(0, len(ready), CHUNK):
        reviews += _chunk(conn, ctx, ready[start:start + CHUNK], validator, frozen, result, later, seen)
        _file_away(conn, ctx, replaced)  # a chunk's files are recorded: they move, and their data is let go
        if not frozen:  # what was set aside is garbage now: a chunk's cycles must not pile up till the end
            gc.unfreeze()
            gc.collect()
    # After the branch returns of this pass, in the chain's order (初验, 复验, then the committee's
    # decision, which is checked against the 复验 as the ledger has it by then).
    order = list(K.REVIEW_ROUNDS)
    for raw, sha, size in sorted(reviews, key=lambda t: order.index(t[0].identity.get("kind"))):
        facts = load_facts(conn, campaign.year) if raw.identity.get("kind") == K.KIND_DECISION else None
        checked_review = read_review(raw, campaign, facts)
        result.outcomes.append(_take_review(conn, ctx, checked_review, sha, size))
    # Copies of a file that arrived in this same pass go last: were one recorded before its first
    # and the pass killed in between, the next pass would take the first as a copy of the copy
    # and the branch's return would never be recorded.
    for path, sha, size in later:
        first = ledger.file_by_sha(conn, sha)
        if first is None:  # the first could not be read this time: both wait for the next pass
            result.waiting.append(path.name)
            continue
        result.outcomes.append(_take(conn, ctx, path, sha, size, ledger.DUPLICATE,
                                     [finding(Code.D101, file=path.name)], duplicate_of=first["id"]))
    _set_aside(frozen)  # before writing feedback
    _file_away(conn, ctx, replaced)
    result.waiting.extend(replaced)  # its new content: the next pass
    return result


def _chunk(conn, ctx: _Pass, paths: list[Path], validator: Validator, frozen: bool,
           result: PassResult, later: list, seen: dict) -> list:
    """Read, identify, validate and record one chunk of the pass's files. A copy of a file seen
    earlier in the pass goes to `later`; 初验/复验 workbooks are returned, to be checked last."""
    batch, early, reviews = [], [], []
    for path in map(lambda p: _readable(conn, p, ctx.now), paths):
        if not path.exists():
            continue  # taken by the recovery above, or removed by a clerk
        try:
            sha, size = sha256_of(path), path.stat().st_size
        except OSError:
            result.waiting.append(path.name)
            continue
        known = ledger.file_by_sha(conn, sha)
        if known is not None and known["moved"] == 0 and known["original_name"] == path.name:
            result.waiting.append(path.name)  # recorded already, its move is pending (locked)
            continue
        if sha in seen:  # a second copy in this pass: recorded only after the first (see _run)
            later.append((path, sha, size))
            continue
        if known is not None:
            early.append((path, sha, size, ledger.DUPLICATE, known["id"], [finding(Code.D101, file=path.name)]))
            continue
        seen[sha] = path
        try:
            kept = {}  # the parts intake reads whole, so that read need not open the zip again
            problems = inspect(path, kept)
            if problems:
                early.append((path, sha, size, ledger.REJECTED, None, problems))
                continue
            raw = read_workbook(path, kept)
        except OSError:
            result.waiting.append(path.name)
            continue
        except Exception as exc:  # a file that passed the limits but still cannot be parsed
            log.warning("读取“%s”失败：%r", path.name, exc)
            early.append((path, sha, size, ledger.REJECTED, None, [finding(Code.F107, file=path.name)]))
            continue
        if raw.identity.get("kind") in K.REVIEW_ROUNDS:
            reviews.append((raw, sha, size))
            continue
        try:
            branch, found = identify(raw, ctx.campaign)
        except Exception:  # one odd file must never block the inbox: it is sent back, the pass goes on
            log.exception("识别“%s”时出错", path.name)
            early.append((path, sha, size, ledger.REJECTED, None, [finding(Code.F116, file=path.name)]))
            continue
        batch.append(((raw, branch, found), sha, size))
        if len(batch) % _SET_ASIDE_EVERY == 0:
            _set_aside(frozen)
    for path, sha, size, outcome, first, found in early:
        result.outcomes.append(_take(conn, ctx, path, sha, size, outcome, found, duplicate_of=first))
    checked = _validate(validator, batch) if batch else []
    for c, (_, sha, size) in zip(checked, batch):
        result.outcomes.append(_take_checked(conn, ctx, c, sha, size))
    return reviews


def readable_name(name: str) -> str | None:
    """For a name that is not valid text here (its bytes in another encoding: Python keeps them as
    surrogate escapes), the name as the clerk saw it: GB18030 (GBK), as Chinese Windows, zip tools
    and USB sticks write it, else UTF-8 with the undecodable bytes replaced. None for a good name."""
    try:
        name.encode("utf-8")
        return None
    except UnicodeEncodeError:
        raw = os.fsencode(name)
    for encoding in ("gb18030", "big5"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", "replace")


def _readable(conn, path: Path, now: dt.datetime) -> Path:
    """A file whose name readers, SQLite and the clerk's screen cannot take is renamed in the inbox
    to its readable form first (its raw name recorded before), then taken in like any other."""
    shown = readable_name(path.name)
    if shown is None or not path.exists():
        return path
    new = path.with_name(fit_filename(shown, path.parent))
    if new.exists():
        new = new.with_name(fit_filename(f"{Path(new.name).stem}（已转换文件名）", path.parent, new.suffix))
    ledger.record_rename(conn, os.fsencode(path.name), new.name, now)
    os.replace(path, new)
    log.info("文件名“%s”不是通用编码，已改名为“%s”后处理（原文件名已记入台账）。", path.name.encode("utf-8", "replace").decode(),
             new.name)
    return new


def _validate(validator: Validator, batch) -> list[Checked]:
    """Validate the batch at once; should that fail, file by file, so that the one file that breaks
    validation is sent back (F116) and every other file of the pass is still taken in."""
    items = [item for item, _, _ in batch]
    try:
        return validator.validate(items)
    except Exception:
        log.exception("批量校验出错，改为逐个文件校验")
    out = []
    for raw, branch, found in items:
        try:
            out.extend(validator.validate([(raw, branch, found)]))
        except Exception:
            log.exception("校验“%s”时出错", raw.path.name)
            out.append(Checked(raw, None, Report([finding(Code.F116, file=raw.path.name)])))
    return out


def _local(saved: dt.datetime | None) -> dt.datetime | None:
    """The workbook's save time (UTC in docProps) as local clock time, comparable with arrivals."""
    return saved.astimezone().replace(tzinfo=None) if saved and saved.tzinfo else saved


def _take_checked(conn, ctx: _Pass, c: Checked, sha: str, size: int) -> Outcome:
    code = c.branch.code if c.branch else None
    if not c.report.valid:
        return _take(conn, ctx, c.raw.path, sha, size, ledger.REJECTED, c.report.findings, branch_code=code)
    return _take_valid(conn, ctx, c.raw, c.report.findings, sha, size, code, None, c.content_hash, c.branch.name,
                       basic={**{k: c.raw.identity.get(f"branch_{k}") or "" for k in ("code", "name")},
                              "general": c.branch.general, **c.basic}, tables=c.tables)


# 初验/复验 workbooks: like a branch return, but stored under the reviewing unit
def _take_review(conn, ctx: _Pass, c: CheckedReview, sha: str, size: int) -> Outcome:
    if not c.report.valid:
        return _take(conn, ctx, c.raw.path, sha, size, ledger.REJECTED, c.report.findings, branch_code=c.unit,
                     kind=c.kind)
    return _take_valid(conn, ctx, c.raw, c.report.findings, sha, size, c.unit, c.kind, c.content_hash,
                       f"{c.unit}{c.round}", tables=c.tables)


def _take_valid(conn, ctx: _Pass, raw, findings: list[Finding], sha: str, size: int, code: str, kind: str | None,
                content: str, shown: str, **data) -> Outcome:
    """A valid return or review: a duplicate (D102) when its content is that of the current one
    of the same branch (or unit) and kind, else accepted with its data."""
    current = ledger.current_return(conn, code, kind or K.KIND_BRANCH)
    if current is not None and current["content_hash"] == content:
        dup = [finding(Code.D102, file=raw.path.name, name=shown)]
        return _take(conn, ctx, raw.path, sha, size, ledger.DUPLICATE, dup, branch_code=code, kind=kind,
                     duplicate_of=current["file_id"], content_hash=content)
    return _take(conn, ctx, raw.path, sha, size, ledger.ACCEPTED, findings, branch_code=code, kind=kind,
                 content_hash=content, saved_at=_local(raw.saved_at), **data)


_GONE = "原文件在归档前已被移走或替换（数据已记入台账）"


def _file_away(conn, ctx: _Pass, replaced: list[str]) -> None:
    """Move the originals recorded since the last call (a chunk) into place and write their feedback,
    once all their records are on disk: one flush (ledger.sync) per chunk rather than one per file,
    and still no original moves before its record is durable. A crash in between leaves
    recorded, unmoved files: the next pass's recover() completes them."""
    taken, ctx.taken = ctx.taken, []
    if taken:
        ledger.sync(conn)
    for file_id, findings in taken:
        row = ledger.file_row(conn, file_id)
        moved = _move(ctx.ws, row)
        if moved == REPLACED:
            ledger.set_moved(conn, file_id, -1, _GONE)
            replaced.append(row["original_name"])
        elif moved:
            ledger.set_moved(conn, file_id)
            if row["feedback"]:
                _write_feedback(conn, ctx.ws, row, findings, ctx.campaign)


def _take(conn, ctx: _Pass, path: Path, sha: str, size: int, outcome: str, findings: list[Finding], *,
          branch_code=None, duplicate_of=None, content_hash=None, saved_at=None, basic=None, tables=None,
          kind=None) -> Outcome:
    ws, now, branches = ctx.ws, ctx.now, ctx.campaign.by_code
    folder = {ledger.ACCEPTED: ws.accepted, ledger.REJECTED: ws.rejected, ledger.DUPLICATE: ws.duplicates}[outcome]
    stored = ctx.archive.get(path) or folder / _stored_name(now, sha, path.name, folder)
    feedback = None
    if outcome == ledger.REJECTED:
        branch = branches.get(branch_code or "")
        stem = safe_filename(f"{branch.code}_{branch.name}") if branch else Path(safe_filename(path.name)).stem
        if kind in K.REVIEW_ROUNDS:  # 初验_机电工程学院党总支_退回说明_…
            stem = safe_filename(f"{K.REVIEW_ROUNDS[kind]}_{branch_code or Path(path.name).stem}")
        feedback = ws.feedback / fit_filename(stem, ws.feedback, f"_退回说明_{now:%Y%m%d-%H%M%S}_{sha[:6]}.xlsx")
    rec = ledger.FileRecord(
        sha256=sha, original_name=path.name, size=size, arrived_at=now, outcome=outcome,
        stored_as=stored.relative_to(ws.root).as_posix(),
        feedback=feedback.relative_to(ws.root).as_posix() if feedback else None,
        branch_code=branch_code, kind=kind or (K.KIND_BRANCH if branch_code else None), content_hash=content_hash,
        saved_at=saved_at, duplicate_of=duplicate_of)
    file_id = ledger.record(conn, rec, findings, basic, tables)
    ctx.taken.append((file_id, findings))  # moved, and its feedback written, by _file_away
    errors = sum(f.is_error for f in findings)
    details = [f.message for f in sorted(findings, key=lambda f: not f.is_error)]
    first = details[0] if details else ""
    more = f"（{first}{f' 等 {len(details)} 处' if len(details) > 1 else ''}）" if first else ""
    log.info("%s：%s%s", path.name, K.OUTCOME_NAMES[outcome], more)
    return Outcome(path.name, outcome, branch_code, errors, len(findings) - errors,
                   feedback.name if feedback else None, first, details)
