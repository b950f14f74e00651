"""A real headless Chromium driven over the DevTools protocol, for UI tests: one browser for a
whole test, pages loaded like a person opens them, and what the person sees read back (the text
on screen, where an element ends, whether a font ligature is on)."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from websockets.sync.client import connect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    """One tab of the browser."""

    def __init__(self, socket, session: str, counter):
        self.socket, self.session, self.counter = socket, session, counter

    def call(self, method: str, params: dict | None = None, timeout: float = 60) -> dict:
        ident = next(self.counter)
        message = {"id": ident, "method": method, "params": params or {}}
        self.socket.send(json.dumps({**message, "sessionId": self.session} if self.session else message))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
        raise TimeoutError(f"{method}: no answer in {timeout} s")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True})
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def text(self) -> str:
        """The text a person sees on the page (what `innerText` renders, not hidden markup)."""
        return self.evaluate("document.body ? document.body.innerText : ''") or ""

    def open(self, url: str, *needles: str | re.Pattern, timeout: float = 120) -> str:
        """Load `url` and wait until its text shows every needle; reloads while the app warms up."""
        def shows(text: str, needle) -> bool:
            return bool(needle.search(text)) if isinstance(needle, re.Pattern) else needle in text

        deadline, text = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            self.call("Page.navigate", {"url": url})
            reload_at = min(deadline, time.monotonic() + 40)
            while time.monotonic() < reload_at:
                time.sleep(1)
                text = self.text()
                if all(shows(text, needle) for needle in needles):
                    return text
        raise AssertionError(f"{url} never showed {needles!r}; it shows:\n{text[-3000:]}")

    def screenshot(self, path: Path) -> None:
        import base64

        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))


@contextmanager
def chromium(profile: Path, width: int = 1280, height: int = 1000) -> Iterator[Page]:
    """A headless Chromium with one tab `width` x `height` CSS pixels wide; closed on exit."""
    assert CHROMIUM, "Chromium is not installed: scripts/system_deps.sh installs it"
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
         "--hide-scrollbars", f"--user-data-dir={profile}", "--remote-debugging-port=0",
         f"--window-size={width},{height}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        url = _devtools_url(proc)
        with connect(url, max_size=None, open_timeout=60) as socket:
            counter = itertools.count(1)
            browser = Page(socket, None, counter)
            target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            page = Page(socket, session, counter)
            page.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                             "deviceScaleFactor": 1, "mobile": False})
            yield page
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def _devtools_url(proc: subprocess.Popen, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        found = re.search(r"DevTools listening on (ws://\S+)", line)
        if found:  # keep reading what it writes, or a full pipe would stall it
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return found.group(1)
    raise AssertionError("Chromium did not start its DevTools endpoint")
