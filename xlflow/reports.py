"""stage: document contexts → .docx files (docxtpl), incremental and parallel

write_reports checks the templates (doccheck.py), plans the documents (documents.py) and renders
them under outbox/reports/; nothing is written if a template has a problem. Every string is
rendered with autoescape, so “A&B<C>” arrives intact.

Incremental: each document's digest covers its template file and its context; .manifest.json keeps
the digest of every document written, so a run renders only what changed (or went missing) and
removes documents that no longer apply (a certificate whose branch no longer passes). Long runs use
every core (ProcessPoolExecutor; workers get template paths and plain-data contexts).

Rendering is docxtpl's Jinja over each template's XML, compiled once per process (_Compiled), with
the zip written directly: per document about the cost of re-zipping it (bench/reports_bench.py),
against 4–6× for docxtpl's open-render-save. Documents are planned, hashed and rendered as a
stream (_Renderer), so a run's memory does not grow with the number of documents.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import re
import zipfile
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import jinja2
from docxtpl import DocxTemplate
from lxml import etree

from xlflow.doccheck import check_changed_templates, environment
from xlflow.documents import BENCHMARK_PHASE, DECISION, DRAFTS, FOLDERS, FORMAT, KINDS, SUMMARY, Doc, plan
from xlflow import messages as M
from xlflow.errors import TemplateError
from xlflow.files import atomic_path, atomic_write_bytes, worker_pool
from xlflow.results import Results

MANIFEST = ".manifest.json"

Progress = Callable[[int, int], None]  # (documents just finished, total to render)


@dataclass
class ReportRun:
    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # unchanged since the last run
    removed: list[Path] = field(default_factory=list)  # no longer apply (e.g. a certificate)
    locked: list[Path] = field(default_factory=list)  # open in Word/WPS: not replaced, tried again next run


# ---- rendering ----------------------------------------------------------------------------------

_WORD_PART = re.compile(r"(word/(document|header\d*|footer\d*|footnotes)|docProps/core)\.xml")
_LISTING = re.compile("[\t\a\f\n]")  # what docxtpl's resolve_listing turns into breaks, tabs, paragraphs
_PARAGRAPH = re.compile(r"<w:p(?: [^>]*)?>.*?</w:p>", re.DOTALL)  # as docxtpl's resolve_listing finds them
_NEEDS_DOCXTPL = re.compile(r"\{%-?\s*tc\b|docPr")  # cell loops and pictures: docxtpl renumbers and re-grids


class _Compiled:
    """A template read once per process: its zip entries in order, and for each part with tags
    (body, headers, footers, properties) a Jinja template compiled once from the XML as docxtpl's
    own clean-up (patch_xml) leaves it. Each document is then one Jinja render per such part and
    a zip written directly: no python-docx open and save per document, no docxtpl listing pass,
    and the same bytes for the same context. docxtpl's renderer remains for a template it alone
    handles (cell loops, pictures: see _NEEDS_DOCXTPL)."""

    _cache: dict[tuple[str, int, int], "_Compiled"] = {}

    def __init__(self, data: bytes):
        self.data, self.entries, self.checked = data, [], False
        helper = DocxTemplate.__new__(DocxTemplate)  # patch_xml and resolve_listing use no state
        self.resolve_listing = helper.resolve_listing
        env = environment()
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist():
                body = z.read(info)
                template = None
                if _WORD_PART.fullmatch(info.filename) and (b"{{" in body or b"{%" in body):
                    xml = helper.patch_xml(body.decode("utf-8"))
                    if _NEEDS_DOCXTPL.search(xml):
                        self.entries = None
                        return
                    # (docxtpl also puts a line end before each paragraph, for its error messages' line
                    # numbers, and takes them out after rendering: the same output, a fifth of the cost)
                    template = env.from_string(xml)
                self.entries.append((info, body, template))

    @classmethod
    def of(cls, path: str) -> "_Compiled":
        st = os.stat(path)
        key = (path, st.st_mtime_ns, st.st_size)
        got = cls._cache.get(key)
        if got is None:
            if len(cls._cache) > 16:
                cls._cache.clear()
            got = cls._cache[key] = cls(Path(path).read_bytes())
        return got

    def part(self, template: jinja2.Template, context: dict) -> bytes:
        """What docxtpl's render_xml_part does after Jinja: escaped braces back, line breaks."""
        xml = template.render(context)
        xml = xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")
        if _LISTING.search(xml, xml.find("?>") + 3):  # a line break, tab… in some text: Word's own marks,
            # in the paragraphs that have one (docxtpl's pass over every run of every paragraph costs
            # more than the rest of a render; per paragraph it is the same)
            xml = self._listed(xml)
        return xml.encode("utf-8")

    def _listed(self, xml: str) -> str:
        """resolve_listing on each paragraph (as _PARAGRAPH finds them) holding a listing character.
        Where paragraphs do not nest (no text box) and every one is closed, each opening tag starts
        a paragraph, so only those around the few listing characters are looked at: a table of 600
        rows made the pass over every paragraph 0.3 s a document."""
        if "txbxContent" in xml or xml.count("<w:p>") + xml.count("<w:p ") != xml.count("</w:p>"):
            return _PARAGRAPH.sub(lambda m: self.resolve_listing(m[0]) if _LISTING.search(m[0]) else m[0], xml)
        out, done = [], 0
        for m in _LISTING.finditer(xml, xml.find("?>") + 3):
            at = m.start()
            if at < done:
                continue  # in the paragraph just resolved
            start = max(xml.rfind("<w:p>", done, at), xml.rfind("<w:p ", done, at))
            if start < 0 or xml.rfind("</w:p>", start, at) >= 0:
                continue  # between paragraphs
            end = xml.index("</w:p>", at) + len("</w:p>")
            out += (xml[done:start], self.resolve_listing(xml[start:end]))
            done = end
        out.append(xml[done:])
        return "".join(out)

    def write(self, context: dict, dest: Path | str) -> bool:
        """False (and docxtpl renders this template from now on) if what Jinja made is not
        well-formed XML, which docxtpl's forgiving parser would mend; checked once per process."""
        parts = [(info, body if template is None else self.part(template, context))
                 for info, body, template in self.entries]
        if not self.checked:
            try:
                for (_, body), (_, _, template) in zip(parts, self.entries):
                    if template is not None:
                        etree.fromstring(body)
            except etree.XMLSyntaxError:
                self.entries = None
                return False
            self.checked = True
        with atomic_path(dest) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for info, body in parts:
                entry = zipfile.ZipInfo(info.filename, info.date_time)  # the template's: same bytes each time
                entry.external_attr = info.external_attr or 0o600 << 16
                z.writestr(entry, body, compress_type=zipfile.ZIP_DEFLATED)
        return True


def render(template: Path | str, context: dict, dest: Path | str) -> Path:
    """Render one document (autoescape: branch text is data) and write it atomically."""
    compiled = _Compiled.of(str(template))
    try:
        if compiled.entries is None or not compiled.write(context, dest):
            tpl = DocxTemplate(io.BytesIO(compiled.data))
            tpl.render(context, environment(), autoescape=True)
            with atomic_path(dest) as tmp:
                tpl.save(tmp)
    except jinja2.TemplateError as exc:
        raise TemplateError(M.TEMPLATE_RENDER.format(template=Path(template).name, dest=Path(dest).name, detail=exc)) from None
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
    """{"documents": {path: digest}, "checked": {kind: template sha}, "shapes": signature, "inputs":
    {path: inputs key}}; empty when there is none yet or it cannot be read (then everything is
    rendered again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return {}
        return {"documents": {str(k): str(v) for k, v in dict(data.get("documents") or {}).items()},
                "checked": {str(k): str(v) for k, v in dict(data.get("checked") or {}).items()},
                "shapes": str(data.get("shapes") or ""),
                "inputs": {str(k): str(v) for k, v in dict(data.get("inputs") or {}).items()}}
    except (OSError, ValueError, TypeError, AttributeError):
        return {}


def _write_manifest(path: Path, docs: dict[str, str], checked: dict[str, str], shapes: str,
                    inputs: dict[str, str]) -> None:
    data = {"format": FORMAT, "note": "xlflow 记录：每份文书的内容摘要，用于只重新生成有变化的文书。请勿编辑。",
            "shapes": shapes, "checked": dict(sorted(checked.items())), "documents": dict(sorted(docs.items())),
            "inputs": dict(sorted(inputs.items()))}
    atomic_write_bytes(path, json.dumps(data, ensure_ascii=False, indent=1).encode("utf-8"))


def write_reports(results: Results, templates_dir: Path | str, outdir: Path | str, workers: int | None = None, progress: Progress | None = None, *,
                  today: dt.date | None = None, force: bool = False, kinds: Iterable[str] = KINDS) -> ReportRun:
    """Render the documents whose template or content changed since the last run (all with force),
    remove those that no longer apply, and record what was written in outdir/.manifest.json.

    progress, if given, is called as progress(done, total) as documents are finished."""
    # the 三年总结 belongs to the 创优 year: a folder of another year needs no template for it
    campaign = results.campaign
    kinds = tuple(k for k in kinds if k != SUMMARY or campaign.settings.phase == BENCHMARK_PHASE)
    outdir = Path(outdir)
    manifest_path = outdir / MANIFEST
    stored = _read_manifest(manifest_path)
    old, old_inputs = stored.get("documents", {}), stored.get("inputs", {})
    # Raises before anything is written; a template is parsed again only if its bytes changed.
    paths, shas, shapes = check_changed_templates(Path(templates_dir), campaign, kinds,
                                                  None if force else stored.get("checked"), stored.get("shapes", ""))
    checked = {**{k: v for k, v in stored.get("checked", {}).items() if stored.get("shapes") == shapes}, **shas}
    digests: dict[str, str] = {}
    inputs: dict[str, str] = {}  # path -> inputs key (and template) of a branch's own document planned
    run = ReportRun()
    renderer = _Renderer(paths, outdir, workers, progress, run)

    def known(kind: str, rel: str, key: str) -> bool:  # made from the same inputs: not even planned
        inputs[rel] = key = f"{key}|{shas[kind]}"
        if force or old_inputs.get(rel) != key or rel not in old or not (outdir / rel).is_file():
            return False
        digests[rel] = old[rel]
        run.skipped.append(outdir / rel)
        return True

    def take(d: Doc) -> None:  # each document as planned: skipped, or rendered (its context then let go)
        digests[d.path] = digest = _digest(shas[d.kind], d.context)
        dest = outdir / d.path
        if not force and old.get(d.path) == digest and dest.is_file():
            run.skipped.append(dest)
        else:
            renderer.add(d, digest)

    # Keep the entries of documents outside this run's kinds; drop those not planned any more.
    kind_of_folder = {folder: kind for kind, folder in FOLDERS.items()} | {DRAFTS: DECISION}

    def scoped(rel: str) -> bool:
        return kind_of_folder.get(rel.rpartition("/")[0]) in kinds

    planned = False
    try:
        try:
            plan(results, today, kinds, sink=take, known=known)
            planned = True  # only then is a document not planned one that no longer applies
        finally:
            renderer.close()
    finally:
        manifest = {rel: h for rel, h in old.items() if not scoped(rel) or rel in digests or not planned}
        manifest.update((d.relative_to(outdir).as_posix(), digests[d.relative_to(outdir).as_posix()]) for d in run.skipped)
        manifest.update(renderer.manifest)  # written in this run
        for rel in [r for r in old if planned and scoped(r) and r not in digests]:
            stale = outdir / rel
            try:
                if stale.is_file():
                    stale.unlink()
                    run.removed.append(stale)
                manifest.pop(rel, None)
            except PermissionError:  # open in Word: removed next time
                run.locked.append(stale)
        # a document's inputs are recorded once it is on disk as made from them (not one left locked)
        done = {d.relative_to(outdir).as_posix() for d in run.skipped} | renderer.manifest.keys()
        kept = {rel: old_inputs[rel] for rel in manifest if rel in old_inputs and rel not in inputs}
        _write_manifest(manifest_path, manifest, checked, shapes,
                        kept | {rel: k for rel, k in inputs.items() if rel in done})
    return run


class _Renderer:
    """Renders documents as they are planned: in this process, or once a batch has gathered, on
    every core, with at most two batches per worker in flight, so that the contexts waiting to be
    rendered stay a few dozen however many documents a run makes. manifest: path -> digest of
    each document written."""

    BATCH = 16
    # the first LOCAL documents render here: starting spawned workers (each imports docxtpl and
    # Jinja) costs more than a corrected return's dozen documents take (bench/corrected_bench.py)
    LOCAL = 64

    def __init__(self, paths: dict[str, Path], outdir: Path, workers: int | None, progress: Progress | None,
                 run: ReportRun):
        self.paths, self.outdir, self.progress, self.run = paths, outdir, progress, run
        self.workers = workers or os.cpu_count() or 1
        self.pending: list[tuple[str, dict, str]] = []
        self.digest: dict[str, str] = {}  # dest -> digest, until written
        self.manifest: dict[str, str] = {}
        self.pool: ProcessPoolExecutor | None = None
        self.futures: dict = {}
        self.total = 0

    def add(self, d: Doc, digest: str) -> None:
        dest = str(self.outdir / d.path)
        self.pending.append((str(self.paths[d.kind]), d.context, dest))
        self.digest[dest] = digest
        self.total += 1
        if self.workers == 1 or self.total <= self.LOCAL:
            self._local()
        elif len(self.pending) >= self.BATCH:
            self._submit()

    def _local(self) -> None:
        batch, self.pending = self.pending, []
        for job in batch:
            self._finished([job], _render_batch([job]))

    def _submit(self) -> None:
        if self.pool is None:
            # spawned, not forked: a worker holds its imports and a batch, never a copy of this
            # process's results (a forked one's garbage collector touches every inherited object,
            # copying them: at 5,000 branches ≈ 160 MB a worker); as on Windows
            self.pool = worker_pool(self.workers, spawn=True)
        while len(self.futures) >= self.workers * 2:
            self._collect(wait(self.futures, return_when=FIRST_COMPLETED).done)
        batch, self.pending = self.pending, []
        self.futures[self.pool.submit(_render_batch, batch)] = batch

    def _collect(self, done) -> None:
        for fut in done:
            self._finished(self.futures.pop(fut), fut.result())

    def close(self) -> None:
        """Render what is left and wait for every batch (raising the first failure)."""
        if self.pool is None:
            self._local()  # a run of fewer documents than a batch: no processes started
            return
        try:
            if self.pending:
                self._submit()
            while self.futures:
                self._collect(wait(self.futures, return_when=FIRST_COMPLETED).done)
        finally:
            self.pool.shutdown(cancel_futures=True)

    def _finished(self, batch: list[tuple[str, dict, str]], locked: list[str]) -> None:
        for _, _, dest in batch:
            digest = self.digest.pop(dest)
            if dest in locked:
                self.run.locked.append(Path(dest))
                continue
            self.manifest[Path(dest).relative_to(self.outdir).as_posix()] = digest
            self.run.written.append(Path(dest))
        if self.progress:
            self.progress(len(batch), self.total)
