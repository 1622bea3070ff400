"""How the desk is served: waitress, which reads a whole request before any thread sees it.

Why not gunicorn's gthread workers any more: a gthread worker hands the connection to a thread, and the thread reads
the body. Nine connections sending half a POST /login tied up all 8 threads of the default 2 x 4 and every other user
timed out (bench/slow_clients.py: 9 of 20 page loads failed with 50 trickling clients). gunicorn's answer is a
buffering proxy in front, which `retour web` on its own does not have. waitress reads requests in its event loop and
queues a request for its threads only once the request is complete, so a slow client costs a socket and a buffer,
never a thread; with bodies capped at the app's 1 MB, that buffer is bounded.

Several processes still share the cores: the parent binds the socket, forks ``workers`` children that each serve it
with their own app (no database connection crosses a fork), restarts a child that dies, and stops them all on
SIGTERM or Ctrl-C. `retour run` and the demo serve in a thread of their own process with the same server.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("retour.web")

WORKERS = 2  # one process per core of a small host: pages are cached, the app is CPU-bound once warm
THREADS = 4  # per process: overlap a page's waits on PostgreSQL; slow clients never hold one
MAX_BODY = 1_000_000  # what the app accepts (Flask MAX_CONTENT_LENGTH): waitress buffers no more than this
CONNECTION_LIMIT = 1000  # open connections per process, slow ones included, before new ones wait in the backlog
RESTART_PAUSE = 1.0  # seconds before a dead worker is replaced, so a crash loop does not spin


def options(threads: int = THREADS) -> dict[str, Any]:
    """What every Retour web server gives waitress."""
    return {"threads": threads, "max_request_body_size": MAX_BODY, "connection_limit": CONNECTION_LIMIT,
            "channel_timeout": 60, "ident": "retour", "clear_untrusted_proxy_headers": True}


class ThreadedServer:
    """A waitress server running in a daemon thread of this process (`retour run`, the demo, tests)."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self._thread = threading.Thread(target=server.run, name="retour-web", daemon=True)
        self._thread.start()

    @property
    def server_address(self) -> tuple[str, int]:
        return (str(self._server.effective_host), int(self._server.effective_port))

    @property
    def server_port(self) -> int:
        return int(self._server.effective_port)

    def shutdown(self) -> None:
        """Stop listening, close open connections, let the threads finish their requests.

        The sockets are closed by the event loop's own thread (waitress's trigger runs the closing there): closed
        from this thread, they could vanish under the loop's select() and its thread died on EBADF. With every
        channel closed, the loop has nothing left to watch and returns.

        waitress closes the trigger's pipe with the listening socket (``server.close()``). Once in CI, at the end of
        `retour run`'s test on PostgreSQL, the pipe was already closed when the server was stopped (cause not found:
        not reproduced alone), and writing to it raised EBADF out of ``stop()``, the port still held. Nothing can
        wake the loop then: what is left is closed from this thread."""
        server = self._server

        def close_everything() -> None:
            for channel in list(server._map.values()):
                channel.close()

        try:
            server.trigger.pull_trigger(close_everything)
        except OSError as exc:
            log.warning("web=shutdown trigger=closed error=%s: closing the server's sockets from this thread", exc)
            close_everything()
        self._thread.join(timeout=10)
        server.task_dispatcher.shutdown()

    def server_close(self) -> None:
        """Kept for callers written for werkzeug's server: ``shutdown`` already closed everything."""


def serve_in_thread(app: Any, host: str, port: int, *, threads: int = THREADS) -> ThreadedServer:
    """Serve ``app`` on ``host:port`` from a daemon thread (port 0 picks a free one)."""
    from waitress.server import create_server

    return ThreadedServer(create_server(app, host=host, port=port, **options(threads)))


def serve_forever(make_app: Callable[[], Any], listener: socket.socket, *, workers: int = WORKERS,
                  threads: int = THREADS) -> int:
    """Serve the bound ``listener`` with ``workers`` forked processes until SIGTERM or Ctrl-C; returns 0."""
    if workers <= 1:
        _child(make_app, listener, threads)
        return 0
    children: dict[int, int] = {}
    stopping = threading.Event()

    def stop(*_args: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(workers):
        children[_fork(make_app, listener, threads)] = slot
    while not stopping.is_set():
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            stopping.wait(0.5)
            continue
        if pid in children and not stopping.is_set():
            log.warning("web=worker state=died pid=%s status=%s: starting another", pid, status)
            slot = children.pop(pid)
            time.sleep(RESTART_PAUSE)
            children[_fork(make_app, listener, threads)] = slot
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    for pid in list(children):
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            continue
    return 0


def _fork(make_app: Callable[[], Any], listener: socket.socket, threads: int) -> int:
    pid = os.fork()
    if pid == 0:  # the child: serve until told to stop, then leave without running the parent's cleanup
        code = 0
        try:
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops the children
            # The parent's handler only sets the parent's flag: until this child serves, SIGTERM simply ends it.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _child(make_app, listener, threads)
        except BaseException:  # noqa: BLE001 - the child must never return into the parent's code
            log.exception("web=worker state=failed")
            code = 1
        os._exit(code)
    return pid


def _child(make_app: Callable[[], Any], listener: socket.socket, threads: int) -> None:
    from waitress.server import create_server

    server = create_server(make_app(), sockets=[listener], **options(threads))

    def stop(*_args: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        server.run()
    except (SystemExit, KeyboardInterrupt):
        server.close()
