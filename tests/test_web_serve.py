"""The desk's in-process server (`retour run`, the demo) stops cleanly whatever state its event loop left."""

from __future__ import annotations

import socket
import urllib.request

from webapp.serve import serve_in_thread


def _app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_shutdown_stops_serving_and_frees_the_port():
    server = serve_in_thread(_app, "127.0.0.1", 0, threads=1)
    port = server.server_port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as resp:
        assert resp.read() == b"ok"
    server.shutdown()
    assert _port_free(port)


def test_shutdown_after_waitress_closed_its_own_trigger_still_closes_everything():
    # waitress's loop closes the server (and its trigger pipe) after an error on the listening socket; writing to
    # the closed pipe raised EBADF out of `retour run`'s stop() and left the port held.
    server = serve_in_thread(_app, "127.0.0.1", 0, threads=1)
    port = server.server_port
    # As waitress does it: in the loop's own thread, the server and its trigger closed together. (Closed from this
    # thread instead, the pipe vanished under the loop's select() and the test failed one run in ten under load.)
    waitress = server._server
    waitress.trigger.pull_trigger(waitress.close)
    server._thread.join(timeout=10)
    assert waitress.trigger._closed
    server.shutdown()
    assert _port_free(port)
    assert not server._server._map
