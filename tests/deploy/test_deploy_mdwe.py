"""deploy/dutybot.service sets MemoryDenyWriteExecute=yes. The kernel's own switch for the same rule
(prctl PR_SET_MDWE, Linux 6.3+) shows the bot's native code runs under it: numpy, a matplotlib chart,
jieba, SQLite, TLS and the check-in parser, in a real process."""

from __future__ import annotations

import subprocess
import sys

import pytest

SCRIPT = r"""
import ctypes, mmap
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(65, 1, 0, 0, 0) != 0:  # PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN
    raise SystemExit(77)
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
except OSError:
    pass
else:
    raise SystemExit("a writable and executable mapping was allowed: MDWE is not active")
import asyncio, datetime as dt, io, sqlite3, ssl
import numpy as np
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
fig, ax = plt.subplots()
ax.bar(["a", "b"], np.arange(2) + 1)
buf = io.BytesIO()
fig.savefig(buf, format="png")
assert buf.getvalue().startswith(b"\x89PNG")
from bot.parsing import Parser, load_rules
result = Parser(load_rules(None)).parse("今天组织主题党日，参加18人", dt.datetime(2026, 11, 27, 10, 0))
assert result.records
sqlite3.connect(":memory:").execute("select 1")
ssl.create_default_context()
asyncio.run(asyncio.sleep(0))
print("ok under MDWE")
"""


@pytest.mark.slow
def test_the_bot_runs_with_memory_deny_write_execute(tmp_path) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "TMPDIR": str(tmp_path), "MPLCONFIGDIR": str(tmp_path)},
    )
    if done.returncode == 77:
        pytest.skip("this kernel has no PR_SET_MDWE (Linux 6.3+)")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "ok under MDWE" in done.stdout
