"""Local pool workers that end with the sweep that started them.

A worker of the sweep's process pool waits on a queue for its next run. If
the sweep process is killed (SIGKILL, or SIGTERM, which Python does not
catch), nothing closes that queue, and the workers would finish their run
and then wait on it forever. :func:`watch_parent`, the pool's initializer,
starts a thread in each worker that ends the worker once its parent is gone.

Every worker imports this module before its first run, so it imports the
standard library only.
"""

from __future__ import annotations

import os
import threading
import time

#: How often a worker checks its parent, in seconds: how long it may outlive it.
POLL_S = 0.2


def watch_parent(parent_pid: int, poll_s: float = POLL_S) -> None:
    """End this process as soon as its parent, ``parent_pid``, has exited.

    A process whose parent exits is adopted by another (init, or a
    subreaper), so its parent's process id changes; a daemon thread checks
    that every ``poll_s`` seconds. The process ends with :func:`os._exit`:
    the run in progress has no one left to deliver its result to. (Windows
    does not reparent, so there the check never fires.)
    """
    if os.getppid() != parent_pid:  # the parent died before this worker started
        os._exit(1)
    threading.Thread(
        target=_watch, args=(parent_pid, poll_s), name="watch-parent", daemon=True
    ).start()


def _watch(parent_pid: int, poll_s: float) -> None:
    while os.getppid() == parent_pid:
        time.sleep(poll_s)
    os._exit(1)
