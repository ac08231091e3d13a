"""One log format for every command and plugin: our progress at INFO, libraries only from WARNING,
and handlers that can be added for a block (a roll's log file, a watcher)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from cluster import logs


def test_our_lines_in_the_one_format_and_library_chatter_left_out(tmp_path: Path) -> None:
    path = tmp_path / "roll.log"
    seen: list[str] = []
    with logs.also_to(logging.FileHandler(path), logs.Watcher(seen.append)):
        logging.getLogger("ops.rolling").info("[m1] gate before: OK")
        logging.getLogger("urllib3.connectionpool").info("Starting new HTTPS connection")
        logging.getLogger("urllib3.connectionpool").warning("Retrying")
    lines = path.read_text().splitlines()
    assert seen == ["[m1] gate before: OK", "Retrying"]
    assert lines[0].startswith("[ops ") and lines[0].endswith("s] [m1] gate before: OK")
    assert lines[1].startswith("[urllib3 ") and len(lines) == 2
    logging.getLogger("ops.rolling").info("after the block")
    assert len(path.read_text().splitlines()) == 2


def test_a_watcher_may_wait_for_a_thread_that_logs_meanwhile() -> None:
    log = logging.getLogger("bench.soak.faults")
    done = threading.Event()

    def fault() -> None:
        log.info("[soak fault] restarting m2")  # would block on a held handler lock
        done.set()

    def on_line(line: str) -> None:
        if line == "host step":
            worker = threading.Thread(target=fault)
            worker.start()
            worker.join(timeout=5)

    with logs.also_to(logs.Watcher(on_line)):
        log.info("host step")
    assert done.is_set()


def test_a_logged_exception_is_one_line_never_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "plugin.log"
    with logs.also_to(logging.FileHandler(path)):
        try:
            raise NotImplementedError("Method not implemented!")
        except NotImplementedError:
            logging.getLogger("grpc._cython.cygrpc").exception("Unexpected error raised by servicer method")
    text = path.read_text()
    assert "Traceback" not in text and "(NotImplementedError: Method not implemented!)" in text
