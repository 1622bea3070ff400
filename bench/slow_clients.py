"""Slow clients against `retour web`: do 50 connections trickling a request body starve everyone else?

    python bench/slow_clients.py [--clients 50] [--requests 20]

Starts `retour web --port 0` on a throw-away SQLite database, opens ``--clients`` connections that each send the
headers of a POST /login with a 10 kB body and then one byte every 2 seconds, and meanwhile times ``--requests``
ordinary GET /login page loads. Target (issue 18.4): a normal page still answers in under 1 s.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path


def start_server(tmp: Path, extra: list[str]) -> tuple[subprocess.Popen, str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("RETOUR_")},
           "RETOUR_DATABASE_URL": f"sqlite:///{tmp}/web.db", "RETOUR_DATA_DIR": str(tmp / "data")}
    proc = subprocess.Popen([sys.executable, "-m", "retour.cli", "web", "--host", "127.0.0.1", "--port", "0", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    line = proc.stdout.readline()
    if "http://" not in line:
        raise SystemExit(f"retour web did not start: {line!r}")
    return proc, line.split("http://", 1)[1].split()[0].rstrip("/")


def trickle(host: str, port: int, stop: threading.Event, opened: list) -> None:
    sock = socket.create_connection((host, port), timeout=30)
    opened.append(sock)
    sock.sendall(b"POST /login HTTP/1.1\r\nHost: bench\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                 b"Content-Length: 10000\r\n\r\nemail=")
    while not stop.wait(2.0):
        try:
            sock.sendall(b"a")
        except OSError:
            return


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--server-args", default="", help="extra arguments for `retour web`")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="retour-slow-") as tmp:
        proc, address = start_server(Path(tmp), args.server_args.split())
        host, port = address.split(":")
        stop = threading.Event()
        opened: list = []
        try:
            url = f"http://{address}/login"
            urllib.request.urlopen(url, timeout=30).read()  # warm up
            threads = [threading.Thread(target=trickle, args=(host, int(port), stop, opened), daemon=True)
                       for _ in range(args.clients)]
            for t in threads:
                t.start()
            time.sleep(3)
            times, failures = [], 0
            for _ in range(args.requests):
                t0 = time.perf_counter()
                try:
                    urllib.request.urlopen(url, timeout=10).read()
                    times.append(time.perf_counter() - t0)
                except OSError:
                    failures += 1
                time.sleep(0.1)
            worst = max(times) if times else float("inf")
            print(f"{args.clients} slow-body clients; {args.requests} page loads: "
                  f"p50 {statistics.median(times) * 1000 if times else float('nan'):.0f} ms, "
                  f"max {worst * 1000:.0f} ms, failed or over 10 s: {failures}")
            print(f"target: a normal page answers in < 1 s: "
                  f"{'OK' if not failures and worst < 1.0 else 'MISSED'}")
        finally:
            stop.set()
            for s in opened:
                s.close()
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
