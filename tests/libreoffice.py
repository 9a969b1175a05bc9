"""Test-time LibreOffice judge: recalculate, re-save and print documents for real.

xlflow never needs LibreOffice; the tests use it to check that the formulas we write are
evaluated by a real spreadsheet application to the values we cache (see DESIGN.md, "How to
check formulas in a real spreadsheet application").

One headless ``soffice`` runs per test session (private user profile in a temp dir, listening
on a uniquely named pipe). Each operation runs *this same file* as a script with Debian's
``/usr/bin/python3`` (the only interpreter that can ``import uno``); that script connects
over the pipe, performs a batch of jobs and reports back as JSON. Batch with the ``*_many``
methods: each call pays for one interpreter start plus one UNO connect.

Because this file doubles as the worker script, its top level imports only the standard
library and must run on Debian's Python 3.11 as well as on the project's.

Usage::

    with LibreOffice() as lo:
        lo.recalc(Path("in.xlsx"), Path("out.xlsx"))   # calculateAll(), then save
        lo.resave(Path("in.xlsx"), Path("out.xlsx"))   # open + save, as a user would
        lo.to_pdf(Path("in.docx"), Path("out.pdf"))
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Iterable

SOFFICE = "/usr/bin/soffice"
UNO_PYTHON = "/usr/bin/python3"

# Operations understood by the worker (``op`` field of a job).
RECALC, RESAVE, PDF, TYPE = "recalc", "resave", "pdf", "type"

# storeToURL filter by destination suffix for recalc/resave.
_SAVE_FILTERS = {
    ".xlsx": "Calc Office Open XML",
    ".xls": "MS Excel 97",
    ".ods": "calc8",
    ".docx": "MS Word 2007 XML",
    ".odt": "writer8",
}

# PDF export filter by the service the loaded document supports.
_PDF_FILTERS = (
    ("com.sun.star.sheet.SpreadsheetDocument", "calc_pdf_Export"),
    ("com.sun.star.text.TextDocument", "writer_pdf_Export"),
    ("com.sun.star.presentation.PresentationDocument", "impress_pdf_Export"),
    ("com.sun.star.drawing.DrawingDocument", "draw_pdf_Export"),
)

StrPath = str | os.PathLike[str]
Pair = tuple[StrPath, StrPath]  # (src, dst)
Job = tuple[str, StrPath, StrPath]  # (op, src, dst), op one of RECALC, RESAVE, PDF


class LibreOfficeError(RuntimeError):
    """soffice could not be started, or a job failed; the message carries its stderr."""


def unavailable_reason(soffice: str | None = None, python: str | None = None) -> str | None:
    """Why LibreOffice cannot be used here, or None when it can."""
    soffice, python = soffice or SOFFICE, python or UNO_PYTHON
    if not Path(soffice).exists():
        return f"{soffice} not found (apt-get install libreoffice-calc-nogui libreoffice-writer-nogui)"
    if not Path(python).exists():
        return f"{python} not found (UNO needs Debian's python3 with python3-uno)"
    try:
        probe = subprocess.run(
            [python, "-I", "-c", "import uno"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{python} -c 'import uno' could not run: {exc}"
    if probe.returncode != 0:
        return f"{python} cannot import uno (apt-get install python3-uno): {probe.stderr.strip()}"
    return None


class LibreOffice:
    """One headless soffice process and the operations the tests need from it."""

    def __init__(
        self,
        soffice: str | None = None,
        python: str | None = None,
        connect_timeout: float = 60.0,
        job_timeout: float = 120.0,
    ) -> None:
        self.soffice = soffice or SOFFICE
        self.python = python or UNO_PYTHON
        self.connect_timeout = connect_timeout
        self.job_timeout = job_timeout  # per job in a batch, plus connect_timeout per call
        self.pipe_name = f"xlflow-lo-{os.getpid()}-{secrets.token_hex(4)}"
        self._tmp: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = None
        self._lock = threading.Lock()
        #: (op, src name, seconds) for every job run, for timing reports.
        self.timings: list[tuple[str, str, float]] = []
        self.startup_seconds: float | None = None
        #: soffice's log each time it had died between calls and was started again.
        self.restarts: list[str] = []

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> "LibreOffice":
        """Start soffice and wait until it accepts UNO connections."""
        if self._proc is not None:
            return self
        t0 = time.monotonic()
        self._tmp = Path(tempfile.mkdtemp(prefix="xlflow-lo-"))
        profile = self._tmp / "profile"
        soffice_tmp = self._tmp / "tmp"  # soffice's own lu*.tmp scratch dirs
        soffice_tmp.mkdir()
        self._log = open(self._tmp / "soffice.log", "wb")
        cmd = [
            self.soffice,
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            f"--accept=pipe,name={self.pipe_name};urp;StarOffice.ComponentContext",
            f"-env:UserInstallation={profile.as_uri()}",
        ]
        try:
            # Own process group: /usr/bin/soffice is a wrapper (oosplash) that spawns
            # soffice.bin; stop() signals the whole group so nothing is left behind.
            self._proc = subprocess.Popen(
                cmd,
                env={**os.environ, "TMPDIR": str(soffice_tmp)},
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            self._log.close()
            self._log = None
            self._cleanup_tmp()
            raise LibreOfficeError(f"cannot start {self.soffice}: {exc}") from exc
        atexit.register(self.stop)  # in case the owner never calls stop()
        try:
            self._run_jobs([])  # connect only: surfaces start-up failures now
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - t0
        return self

    def stop(self) -> None:
        """Stop soffice (the whole process group it started) and delete its profile."""
        atexit.unregister(self.stop)
        if self.running:
            try:  # graceful: soffice then removes its pipes and temp files itself
                self._run_jobs([], terminate=True, timeout=20)
            except LibreOfficeError:
                pass
        proc, self._proc = self._proc, None
        if proc is not None:
            pgid = proc.pid  # start_new_session: the group id is the leader's pid
            for sig, grace in ((None, 10), (signal.SIGTERM, 10), (signal.SIGKILL, 0)):
                if not self._group_alive(pgid):
                    break
                if sig is not None:
                    self._signal_group(pgid, sig)
                deadline = time.monotonic() + grace
                while time.monotonic() < deadline and self._group_alive(pgid):
                    proc.poll()  # reap the leader so the group can empty
                    time.sleep(0.05)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            # A killed soffice leaves its pipe's socket file behind (/tmp, or /var/tmp).
            for folder in ("/tmp", "/var/tmp"):
                sock = Path(folder) / f"OSL_PIPE_{os.getuid()}_{self.pipe_name}"
                if sock.is_socket():
                    sock.unlink(missing_ok=True)
        if self._log is not None:
            self._log.close()
            self._log = None
        self._cleanup_tmp()

    def __enter__(self) -> "LibreOffice":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- operations --------------------------------------------------------------------

    def recalc(self, src: StrPath, dst: StrPath) -> Path:
        """Open src, recalculate every formula (calculateAll), save to dst (by suffix)."""
        return self.recalc_many([(src, dst)])[0]

    def recalc_many(self, pairs: Iterable[Pair]) -> list[Path]:
        return self.run([(RECALC, s, d) for s, d in pairs])

    def resave(self, src: StrPath, dst: StrPath) -> Path:
        """Open src and save it to dst without an explicit recalculation."""
        return self.resave_many([(src, dst)])[0]

    def resave_many(self, pairs: Iterable[Pair]) -> list[Path]:
        return self.run([(RESAVE, s, d) for s, d in pairs])

    def type_in(self, src: StrPath, dst: StrPath, typed: dict[tuple[str, str], str]) -> Path:
        """Open src, type each text into its cell as a person would ({(sheet, "B7"): "0392…"}: the
        application interprets it by the cell's number format), save to dst."""
        return self.run([(TYPE, src, dst)], typed=[[s, c, t] for (s, c), t in typed.items()])[0]

    def to_pdf(self, src: StrPath, dst: StrPath) -> Path:
        """Export a text document or spreadsheet to PDF."""
        return self.to_pdf_many([(src, dst)])[0]

    def to_pdf_many(self, pairs: Iterable[Pair]) -> list[Path]:
        return self.run([(PDF, s, d) for s, d in pairs])

    def run(self, jobs: Iterable[Job], typed: list | None = None) -> list[Path]:
        """Run (op, src, dst) jobs in one worker call; return the dst paths.

        Every job is attempted; if any failed, raise LibreOfficeError listing all failures.
        """
        specs = []
        for op, src, dst in jobs:
            if op not in (RECALC, RESAVE, PDF, TYPE):
                raise ValueError(f"unknown LibreOffice operation {op!r}")
            src_p, dst_p = Path(src).resolve(), Path(dst).resolve()
            if op == PDF:
                if dst_p.suffix.lower() != ".pdf":
                    raise ValueError(f"PDF destination must end in .pdf: {dst_p}")
                filt = None
            else:
                filt = _SAVE_FILTERS.get(dst_p.suffix.lower())
                if filt is None:
                    raise ValueError(f"no save filter for {dst_p.suffix!r} (known: {sorted(_SAVE_FILTERS)})")
            if not src_p.is_file():
                raise FileNotFoundError(src_p)
            dst_p.parent.mkdir(parents=True, exist_ok=True)
            specs.append({"op": op, "src": str(src_p), "dst": str(dst_p), "filter": filt, "typed": typed or []})
        if not specs:
            return []
        if self._proc is not None and self._proc.poll() is not None:
            # soffice died between calls (seen on a loaded machine: an abort in its idle timer, with
            # no job running): start a fresh one rather than fail a test whose own job never ran.
            # A crash during a job still fails that job's test, below.
            self.restarts.append(self._soffice_log())
            self.stop()
            self.start()
        results = self._run_jobs(specs)
        for spec, res in zip(specs, results):
            self.timings.append((spec["op"], Path(spec["src"]).name, res["seconds"]))
        return [Path(s["dst"]) for s in specs]

    # -- internals ---------------------------------------------------------------------

    def _run_jobs(
        self, specs: list[dict], terminate: bool = False, timeout: float | None = None
    ) -> list[dict]:
        with self._lock:
            if self._proc is None:
                raise LibreOfficeError("LibreOffice is not started (call start())")
            if self._proc.poll() is not None:
                raise LibreOfficeError(
                    f"soffice exited with code {self._proc.returncode}\n{self._soffice_log()}"
                )
            payload = json.dumps(
                {
                    "pipe": self.pipe_name,
                    "connect_timeout": self.connect_timeout,
                    "jobs": specs,
                    "terminate": terminate,
                }
            )
            if timeout is None:
                timeout = self.connect_timeout + self.job_timeout * max(1, len(specs))
            env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
            worker = subprocess.Popen(
                [self.python, "-I", str(Path(__file__).resolve()), "--uno-worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            deadline = time.monotonic() + timeout
            pending: str | None = payload
            while True:
                try:
                    stdout, stderr = worker.communicate(pending, timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    pending = None  # already handed over; a retry must not pass it again
                    problem = None
                    if self._proc.poll() is not None:
                        problem = f"soffice exited with code {self._proc.returncode}"
                    elif time.monotonic() > deadline:
                        problem = f"LibreOffice worker timed out after {timeout:.0f} s"
                    if problem:
                        worker.kill()
                        stdout, stderr = worker.communicate()
                        raise LibreOfficeError(
                            f"{problem}\nworker stderr:\n{stderr.strip()}\n{self._soffice_log()}"
                        ) from None
            try:
                results = json.loads(stdout.strip().splitlines()[-1])
            except (ValueError, IndexError):
                results = None
            if worker.returncode != 0 or not isinstance(results, list) or len(results) != len(specs):
                failures = ""
                if isinstance(results, list):
                    failures = "\n".join(
                        f"{r['op']} {r['src']} -> {r['dst']}: {r['error']}"
                        for r in results
                        if not r.get("ok")
                    )
                if not isinstance(results, list):
                    failures = f"worker stdout:\n{stdout.strip()[-4000:]}"
                raise LibreOfficeError(
                    f"LibreOffice worker failed (exit {worker.returncode})\n{failures}\n"
                    f"worker stderr:\n{stderr.strip()}\n{self._soffice_log()}"
                )
            return results

    def _soffice_log(self) -> str:
        if self._tmp is None or not (self._tmp / "soffice.log").exists():
            return "soffice log: (none)"
        if self._log is not None:
            self._log.flush()
        text = (self._tmp / "soffice.log").read_text(errors="replace").strip()
        return "soffice log:\n" + (text[-4000:] if text else "(empty)")

    def _cleanup_tmp(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    @staticmethod
    def _signal_group(pgid: int, sig: int) -> None:
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    @staticmethod
    def _group_alive(pgid: int) -> bool:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


# ---------------------------------------------------------------------------------------
# Worker: runs under /usr/bin/python3 (python3-uno). Reads {"pipe", "connect_timeout",
# "jobs", "terminate"} as JSON on stdin, prints one JSON list of results on the last stdout
# line, then (if "terminate") shuts soffice down.
# ---------------------------------------------------------------------------------------


def _worker_main() -> int:
    import traceback

    import uno  # noqa: F401  (only available to Debian's python3)
    from com.sun.star.beans import PropertyValue
    from com.sun.star.connection import NoConnectException

    def props(**kw: object) -> tuple:
        out = []
        for name, value in kw.items():
            p = PropertyValue()
            p.Name, p.Value = name, value
            out.append(p)
        return tuple(out)

    request = json.loads(sys.stdin.read())
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext(
        "com.sun.star.bridge.UnoUrlResolver", local
    )
    url = f"uno:pipe,name={request['pipe']};urp;StarOffice.ComponentContext"
    deadline = time.monotonic() + float(request["connect_timeout"])
    while True:
        try:
            ctx = resolver.resolve(url)
            break
        except NoConnectException:
            if time.monotonic() > deadline:
                print(f"cannot connect to soffice on pipe {request['pipe']}", file=sys.stderr)
                return 2
            time.sleep(0.2)
    desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)

    results = []
    failed = False
    for job in request["jobs"]:
        t0 = time.monotonic()
        res = {"op": job["op"], "src": job["src"], "dst": job["dst"], "ok": False}
        doc = None
        try:
            doc = desktop.loadComponentFromURL(
                uno.systemPathToFileUrl(job["src"]),
                "_blank",
                0,
                # MacroExecutionMode 0 = NEVER_EXECUTE, UpdateDocMode 0 = NO_UPDATE (links)
                props(Hidden=True, ReadOnly=False, MacroExecutionMode=0, UpdateDocMode=0),
            )
            if doc is None:
                raise RuntimeError("loadComponentFromURL returned nothing (unreadable file?)")
            if job["op"] == RECALC:
                if not hasattr(doc, "calculateAll"):
                    raise RuntimeError("not a spreadsheet: cannot recalculate")
                doc.calculateAll()
            typed = job.get("typed") or []
            if typed:  # through the input line, as a person types (XCell.setFormula ignores the format)
                dispatcher = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.DispatchHelper", ctx)
                controller = doc.CurrentController
                for sheet, cell, text in typed:
                    target = doc.Sheets.getByName(sheet)
                    controller.setActiveSheet(target)
                    controller.select(target.getCellRangeByName(cell))
                    dispatcher.executeDispatch(controller.Frame, ".uno:EnterString", "", 0, props(StringName=text))
            if job["op"] == PDF:
                filt = next((f for svc, f in _PDF_FILTERS if doc.supportsService(svc)), None)
                if filt is None:
                    raise RuntimeError("no PDF export filter for this document type")
            else:
                filt = job["filter"]
            store = props(FilterName=filt, Overwrite=True)
            if filt == "writer_pdf_Export":
                # keep the blank pages Writer inserts (before a section that starts on an even
                # page), as a double-sided print has them
                data = uno.Any("[]com.sun.star.beans.PropertyValue", props(IsSkipEmptyPages=False))
                store += props(FilterData=data)
            # uno.invoke: a plain call would not pass FilterData as a typed sequence
            uno.invoke(doc, "storeToURL", (uno.systemPathToFileUrl(job["dst"]), store))
            res["ok"] = True
        except Exception as exc:  # report and carry on with the next job
            failed = True
            res["error"] = f"{type(exc).__name__}: {getattr(exc, 'Message', '') or exc}"
            traceback.print_exc(file=sys.stderr)
        finally:
            if doc is not None:
                try:
                    doc.close(True)
                except Exception:
                    try:
                        doc.dispose()
                    except Exception:
                        traceback.print_exc(file=sys.stderr)
        res["seconds"] = round(time.monotonic() - t0, 3)
        results.append(res)
    print(json.dumps(results), flush=True)
    if request.get("terminate"):
        try:
            desktop.terminate()
        except Exception:  # the bridge is often disposed while soffice shuts down
            pass
    return 1 if failed else 0


if __name__ == "__main__" and "--uno-worker" in sys.argv[1:]:
    try:
        _exit_code = _worker_main()
    except BaseException:
        import traceback

        traceback.print_exc()
        _exit_code = 3
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: pyuno occasionally segfaults (exit -11) while finalizing
    # the UNO bridge at exit, after all the work is done.
    os._exit(_exit_code)
