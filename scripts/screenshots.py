"""Refresh the README's screenshots from the real demo: ``python scripts/screenshots.py``.

It runs ``retour demo`` from this checkout in a scratch data directory (the demo org is seeded and synced, a theme
pass names the themes, as a new user sees them), logs in as the demo admin in headless Chromium (Debian's
``/usr/bin/chromium``, as the browser tests), and writes into ``docs/screenshots/``:

- ``board.png``: the board the demo produces (the README shows it);
- ``board-fr.png``: the same board for a French reader;
- ``detail.png``: the first theme of the board;
- ``decision-preview.png``: a decision recorded on that theme, before approval (its first screen).

Nothing else writes ``docs/screenshots``: the browser tests write their pictures to a temporary directory, so a
test run leaves the checkout clean. A full-scale demo takes a minute or two before the first picture.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 900}


def start_demo(data_dir: Path, scale: float, timeout: float) -> tuple[subprocess.Popen, str, str, str]:
    """Start `retour demo` and wait for the URL and the demo login it prints; its progress goes to our stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RETOUR_")}
    env["RETOUR_DATA_DIR"] = str(data_dir)
    proc = subprocess.Popen([sys.executable, "-m", "retour.cli", "demo", "--port", "0", "--scale", str(scale)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    url = email = password = None
    lines: list[str] = []
    timer = threading.Timer(timeout, proc.kill)
    timer.start()
    try:
        for line in proc.stdout:
            lines.append(line.rstrip())
            if m := re.match(r"Retour is running at (\S+)", line):
                url = m.group(1).rstrip("/")
            if m := re.match(r"Log in as (\S+) with password (\S+)", line):
                email, password = m.groups()
            if url and email:
                break
    finally:
        timer.cancel()
    if not (url and email and password):
        proc.kill()
        raise SystemExit("retour demo did not start:\n" + "\n".join(lines[-20:]))
    # Keep reading its output (what lands in the demo org) so the pipe never fills up.
    threading.Thread(target=lambda: [sys.stderr.write(f"demo: {line}") for line in proc.stdout], daemon=True).start()
    return proc, url, email, password


def take(url: str, email: str, password: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for locale, name in (("en-GB", "board.png"), ("fr-FR", "board-fr.png")):
                context = browser.new_context(viewport=VIEWPORT, locale=locale)
                page = context.new_page()
                page.set_default_timeout(30_000)
                page.goto(f"{url}/login")
                page.locator("input[name=email]").fill(email)
                page.locator("input[name=password]").fill(password)
                page.locator("form:has(#password) button[type=submit]").click()
                page.wait_for_url(f"{url}/")
                page.screenshot(path=str(out / name), full_page=True)
                written.append(out / name)
                if locale == "en-GB":
                    first = page.locator("tr.theme-row th a").first
                    href = first.get_attribute("href")
                    page.goto(f"{url}{href}")
                    page.screenshot(path=str(out / "detail.png"), full_page=False)
                    written.append(out / "detail.png")
                    page.goto(f"{url}{href}/decisions/new")
                    page.locator("#d-status").select_option("planned")  # planned: lost deals get a follow-up task
                    page.locator("#d-target").fill("Q3")
                    page.locator("#d-insight-en").fill("This ships in Q3: offer the beta to the accounts that asked.")
                    page.locator("#d-insight-fr").fill("Disponible au T3 : proposez la bêta aux comptes qui l’ont demandé.")
                    page.locator("form.stack button[type=submit]").click()
                    page.wait_for_url(re.compile(r".*/decisions/\d+$"))
                    page.screenshot(path=str(out / "decision-preview.png"), full_page=False)
                    written.append(out / "decision-preview.png")
                context.close()
        finally:
            browser.close()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="the demo org's volume (1.0 = what `retour demo` shows)")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for the demo to serve")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium (or run bash scripts/test once)")
    args.out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="retour-screenshots-"))
    proc = None
    try:
        started = time.monotonic()
        proc, url, email, password = start_demo(scratch / "data", args.scale, args.timeout)
        print(f"demo serving at {url} after {time.monotonic() - started:.0f} s", file=sys.stderr)
        for path in take(url, email, password, args.out):
            print(f"wrote {path}")
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
