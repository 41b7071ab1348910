"""Named crash points for the crash-safety tests.

`crash_point("mine")` kills the process with SIGKILL when $PROCMINE_CRASH_AT names that
point, exactly like an OOM killer or a pulled plug would, so tests can prove that a run killed
at any step leaves the last published state intact. Unset (always, outside tests) it does
nothing.
"""

from __future__ import annotations

import os
import signal

CRASH_ENV = "PROCMINE_CRASH_AT"


def crash_point(name: str) -> None:
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
