"""stage: document contexts → .docx files (docxtpl), incremental and parallel

write_reports checks the templates (doccheck.py), plans the documents (documents.py) and renders
them under outbox/reports/; nothing is written if a template has a problem. Every string is
rendered with autoescape, so “A&B<C>” arrives intact.

Incremental: each document's digest covers its template file and its context; .manifest.json keeps
the digest of every document written, so a run renders only what changed (or went missing) and
removes documents that no longer apply (a certificate whose branch no longer passes). Long runs use
every core (ProcessPoolExecutor; workers get template paths and plain-data contexts).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import jinja2
from docxtpl import DocxTemplate

from xlflow.checklist import Checklist
from xlflow.doccheck import check_changed_templates, environment
from xlflow.documents import BENCHMARK_PHASE, DECISION, DRAFTS, FOLDERS, FORMAT, KINDS, SUMMARY, Doc, plan
from xlflow import messages as M
from xlflow.errors import TemplateError
from xlflow.files import atomic_path, atomic_write_bytes
from xlflow.results import Results
from xlflow.settings import Settings

MANIFEST = ".manifest.json"

Progress = Callable[[int, int], None]  # (documents just finished, total to render)


@dataclass
class ReportRun:
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # unchanged since the last run
    removed: list[Path] = field(default_factory=list)  # no longer apply (e.g. a certificate)
    locked: list[Path] = field(default_factory=list)  # open in Word/WPS: not replaced, tried again next run


# ---- rendering -----------------------------------------------------------------------------------

_bytes_cache: dict[tuple[str, int, int], bytes] = {}


def _template_bytes(path: str) -> bytes:
    st = os.stat(path)
    key = (path, st.st_mtime_ns, st.st_size)
    data = _bytes_cache.get(key)
    if data is None:
        _bytes_cache.clear()  # a changed template replaces the old one
        data = _bytes_cache[key] = Path(path).read_bytes()
    return data


class _Template(DocxTemplate):
    """DocxTemplate whose XML clean-up (patch_xml: a few dozen regular expressions over the whole
    part) is done once per template part and process, not once per document: with _Env's compiled
    templates (doccheck.py), 64% of the CPU of rendering the Word templates (bench/tricks_bench.py)."""

    _patched: dict[str, str] = {}

    def patch_xml(self, src_xml: str) -> str:
        got = self._patched.get(src_xml)
        if got is None:
            if len(self._patched) > 64:
                self._patched.clear()
            got = self._patched[src_xml] = super().patch_xml(src_xml)
        return got


def render(template: Path | str, context: dict, dest: Path | str) -> Path:
    """Render one document with docxtpl (autoescape) and write it atomically."""
    tpl = _Template(io.BytesIO(_template_bytes(str(template))))
    try:
        tpl.render(context, environment(), autoescape=True)
    except jinja2.TemplateError as exc:
        raise TemplateError(M.TEMPLATE_RENDER.format(template=Path(template).name, dest=Path(dest).name, detail=exc)) from None
    with atomic_path(dest) as tmp:
        tpl.save(tmp)
    return Path(dest)


def _render_batch(jobs: list[tuple[str, dict, str]]) -> list[str]:
    """Render jobs; returns the destinations that could not be replaced (open elsewhere on Windows)."""
    locked = []
    for template, context, dest in jobs:
        try:
            render(template, context, dest)
        except PermissionError:
            locked.append(dest)
    return locked


def _digest(template_sha: str, context: dict) -> str:
    body = json.dumps(context, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{FORMAT}\0{template_sha}\0{body}".encode()).hexdigest()


def _read_manifest(path: Path) -> dict:
    """{"documents": {path: digest}, "checked": {kind: template sha}, "shapes": signature}; empty
    when there is none yet or it cannot be read (then everything is rendered again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}
        return {"documents": {str(k): str(v) for k, v in dict(data.get("documents") or {}).items()},
                "checked": {str(k): str(v) for k, v in dict(data.get("checked") or {}).items()},
                "shapes": str(data.get("shapes") or "")}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def _write_manifest(path: Path, docs: dict[str, str], checked: dict[str, str], shapes: str) -> None:
    data = {"format": FORMAT, "note": "xlflow 记录：每份文书的内容摘要，用于只重新生成有变化的文书。请勿编辑。",
            "shapes": shapes, "checked": dict(sorted(checked.items())), "documents": dict(sorted(docs.items()))}
    atomic_write_bytes(path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))


def write_reports(results: Results, checklist: Checklist, settings: Settings, templates_dir: Path | str,
                  outdir: Path | str, workers: int | None = None, progress: Progress | None = None, *,
                  today: dt.date | None = None, force: bool = False, kinds: Iterable[str] = KINDS) -> ReportRun:
    """Render the documents whose template or content changed since the last run (all with force),
    remove those that no longer apply, and record what was written in outdir/.manifest.json.

    progress, if given, is called as progress(done, total) as documents are finished."""
    # the 三年总结 belongs to the 创优 year: a folder of another year needs no template for it
    kinds = tuple(k for k in kinds if k != SUMMARY or settings.phase == BENCHMARK_PHASE)
    outdir = Path(outdir)
    manifest_path = outdir / MANIFEST
    stored = _read_manifest(manifest_path)
    old = stored.get("documents", {})
    # Raises before anything is written; a template is parsed again only if its bytes changed.
    paths, shas, shapes = check_changed_templates(Path(templates_dir), checklist, settings, kinds,
                                                  None if force else stored.get("checked"), stored.get("shapes", ""))
    checked = {**{k: v for k, v in stored.get("checked", {}).items() if stored.get("shapes") == shapes}, **shas}
    docs = plan(results, checklist, settings, today, kinds)
    digests = {d.path: _digest(shas[d.kind], d.context) for d in docs}
    run = ReportRun()
    todo = []
    for d in docs:
        dest = outdir / d.path
        if not force and old.get(d.path) == digests[d.path] and dest.is_file():
            run.skipped.append(dest)
        else:
            todo.append(d)
    # Keep the entries of documents outside this run's kinds; drop those not planned any more.
    kind_of_folder = {folder: kind for kind, folder in FOLDERS.items()} | {DRAFTS: DECISION}

    def scoped(rel: str) -> bool:
        return kind_of_folder.get(rel.rpartition("/")[0]) in kinds

    manifest = {rel: h for rel, h in old.items() if not scoped(rel) or rel in digests}
    manifest.update((d.relative_to(outdir).as_posix(), digests[d.relative_to(outdir).as_posix()]) for d in run.skipped)
    try:
        _render(todo, paths, outdir, workers, progress, manifest, digests, run)
    finally:
        for rel in [r for r in old if scoped(r) and r not in digests]:
            stale = outdir / rel
            try:
                if stale.is_file():
                    stale.unlink()
                    run.removed.append(stale)
                manifest.pop(rel, None)
            except PermissionError:  # open in Word: removed next time
                run.locked.append(stale)
        _write_manifest(manifest_path, manifest, checked, shapes)
    return run


def _render(todo: list[Doc], paths: dict[str, Path], outdir: Path, workers: int | None, progress: Progress | None,
            manifest: dict[str, str], digests: dict[str, str], run: ReportRun) -> None:
    total = len(todo)
    jobs = [(str(paths[d.kind]), d.context, str(outdir / d.path)) for d in todo]
    workers = workers or os.cpu_count() or 1

    def finished(batch: list[tuple[str, dict, str]], locked: list[str]) -> None:
        for _, _, dest in batch:
            if dest in locked:
                run.locked.append(Path(dest))
                continue
            rel = Path(dest).relative_to(outdir).as_posix()
            manifest[rel] = digests[rel]
            run.written.append(Path(dest))
        if progress:
            progress(len(batch), total)

    if workers > 1 and total >= 16:
        size = max(1, min(16, total // (workers * 4)))
        batches = [jobs[i:i + size] for i in range(0, total, size)]
        with ProcessPoolExecutor(min(workers, len(batches))) as pool:
            futures = {pool.submit(_render_batch, b): b for b in batches}
            for fut in as_completed(futures):
                finished(futures[fut], fut.result())
    else:
        for job in jobs:
            finished([job], _render_batch([job]))
