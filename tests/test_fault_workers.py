"""A command killed with kill -9 leaves no worker process behind (before: `xlflow reports` killed
while rendering left its pool's workers waiting for work for ever, about 60 MB each)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.helpers import wait_for

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")

COMMAND = textwrap.dedent("""
    import sys, time
    from xlflow.files import worker_pool

    def busy(_):
        time.sleep(600)

    if __name__ == "__main__":
        pool = worker_pool(2, spawn=sys.argv[1] == "spawn")
        for n in range(2):
            pool.submit(busy, n)
        print("started", flush=True)
        time.sleep(600)
""")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("start", ["spawn", "fork"])
def test_workers_end_when_the_command_is_killed(tmp_path, start):
    script = tmp_path / "command.py"
    script.write_text(COMMAND, encoding="utf-8")
    proc = subprocess.Popen([sys.executable, str(script), start], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).parent.parent)
    try:
        assert proc.stdout.readline().strip() == "started"
        wait_for(lambda: len(_children(proc.pid)) >= 2, what="the pool's workers to start")
        workers = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        wait_for(lambda: not any(_alive(w) for w in workers), what="the orphaned workers to exit")
    finally:
        if proc.poll() is None:
            proc.kill()
        for w in _children(proc.pid):
            os.kill(w, signal.SIGKILL)
