"""One log format for every command and plugin of the project: progress lines on stderr (stdout is
kept for results a caller may parse), each naming the part of the project that wrote it and the
seconds since the process started. Modules log with `logging.getLogger(__name__)`; entry points call
`setup()` once."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

PACKAGES = ("bench", "cluster", "components", "config", "harness", "lab", "lxd_provider", "ops", "plugin_host",
            "provisioners", "toolchain", "__main__")
FORMAT = "[%(component)s %(elapsed)7.1fs] %(message)s"


class _Format(logging.Formatter):
    """`[<part> <seconds>s] <message>`, an exception as one line after it, never a traceback: a user reads
    these (a plugin's stderr reaches the CLI)."""

    def format(self, record: logging.LogRecord) -> str:
        line = FORMAT % {"component": record.name.split(".", 1)[0], "elapsed": record.relativeCreated / 1000,
                         "message": record.getMessage()}
        error = record.exc_info[1] if record.exc_info else None
        return f"{line} ({type(error).__name__}: {error})" if error is not None else line


class _OursOrWarnings(logging.Filter):
    """Our own progress at INFO; libraries (pylxd, urllib3, ansible-runner) only from WARNING on."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name.split(".", 1)[0] in PACKAGES


def setup(level: int = logging.INFO) -> None:
    """Progress on stderr in the one format; calling it again changes nothing."""
    root = logging.getLogger()
    if any(getattr(handler, "lxdha", False) for handler in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)  # one write per record: threads never interleave mid-line
    handler.lxdha = True  # type: ignore[attr-defined]
    handler.setFormatter(_Format(FORMAT))
    handler.addFilter(_OursOrWarnings())
    root.addHandler(handler)
    root.setLevel(min(root.level or logging.WARNING, level))


@contextmanager
def step(log: logging.Logger, label: str) -> Iterator[None]:
    """Logs a step with its wall time, so slow steps are visible in every run."""
    started = time.monotonic()
    try:
        yield
    except BaseException:
        log.info("%s: FAILED after %.1fs", label, time.monotonic() - started)
        raise
    log.info("%s: %.1fs", label, time.monotonic() - started)


class Watcher(logging.Handler):
    """Hands every line the project logs to `see` (a fault injector that acts on a roll's progress, a test
    that counts what a command reported)."""

    def __init__(self, see: Callable[[str], None]) -> None:
        super().__init__()
        self._see = see

    def emit(self, record: logging.LogRecord) -> None:
        self._see(record.getMessage())

    def handle(self, record: logging.LogRecord) -> bool:
        """Without the handler's lock: `see` may wait for another thread that logs meanwhile (a fault
        injector joined on a roll's line), so it must not hold a lock that thread needs."""
        if not self.filter(record):
            return False
        self.emit(record)
        return True


@contextmanager
def also_to(*handlers: logging.Handler) -> Iterator[None]:
    """For the block, the project's log lines also go to `handlers` (a roll's own log file, a Watcher)."""
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(_Format(FORMAT))
        handler.addFilter(_OursOrWarnings())
        root.addHandler(handler)
    previous = root.level
    root.setLevel(min(previous or logging.WARNING, logging.INFO))
    try:
        yield
    finally:
        root.setLevel(previous)
        for handler in handlers:
            root.removeHandler(handler)
            handler.close()
