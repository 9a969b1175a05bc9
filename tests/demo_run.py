"""The session's demos, run in the background while the other tests run (tests/conftest.py starts
this script at the session's start when a selected test reads a demo).

    python tests/demo_run.py CWD THREE_ROOT|- DONE_JSON

1. `xlflow demo --dir CWD/演示` in a real process, as a clerk starts it;
2. its working folder copied to THREE_ROOT/2019年支部建设 (before any test reads it);
3. DONE_JSON written: the demo's return code, stdout and stderr (the `demo` fixture waits for it);
4. unless THREE_ROOT is "-": `xlflow demo --years 3` from that copy (the same seeded first year, run
   once per suite: demo._first_year is replaced by the copy), the later years run in this process;
   what it said is written to lines.json beside DONE_JSON (the `demo_years` fixture waits for this
   process to end).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path


def main(cwd: Path, three: str, done: Path) -> None:
    root = cwd / "演示"
    demo = subprocess.run([sys.executable, "-m", "xlflow", "demo", "--dir", str(root)], cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", timeout=600)
    if three != "-" and demo.returncode == 0:
        from xlflow import demo as D
        from xlflow.settings import Settings

        shutil.copytree(root, Path(three) / D.YEAR_FOLDER.format(year=Settings().year))
    tmp = done.with_suffix(".tmp")
    tmp.write_text(json.dumps({"returncode": demo.returncode, "stdout": demo.stdout, "stderr": demo.stderr}),
                   encoding="utf-8")
    tmp.replace(done)
    if three == "-" or demo.returncode != 0:
        return
    import gc

    from xlflow import demo as D
    from xlflow.workspace import Workspace

    gc.set_threshold(10_000, 50, 50)  # as in the suite's own process (tests/conftest.py): 10% less CPU

    def first_year(dest: Path, echo) -> Workspace:  # copied above, from the session's demo
        return Workspace(dest)

    D._first_year = first_year
    lines: list[str] = []
    D.run_demo(Path(three), echo=lines.append, years=3)
    done.with_name("lines.json").write_text(json.dumps(lines, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
