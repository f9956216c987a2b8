"""Drive the app in a real headless Chromium: start a server, open the page, ask, wait.

Shared by the end-to-end test (tests/test_browser.py) and the benchmark (ui/bench_ui.py).
Everything stays on the loopback interface.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run")
CHAT_INPUT = '[data-testid="stChatInputTextArea"]'
# The box is drawn disabled while the model loads; the chat is ready when it opens.
CHAT_INPUT_OPEN = f"{CHAT_INPUT}:not([disabled])"
MESSAGE = '[data-testid="stChatMessage"]'
# An answer is complete when its feedback thumbs (or an error box) are drawn.
DONE = '[data-testid="stFeedback"], [data-testid="stAlertContentError"]'


def free_port() -> int:
    """Return a TCP port on the loopback interface that is free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A `streamlit run ui/app.py` process on a loopback port."""

    process: subprocess.Popen
    port: int
    log: Path
    started: float

    @property
    def url(self) -> str:
        """Return the app's address."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the server (and anything it started)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)

    def output(self) -> str:
        """Return what the server has logged so far."""
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


def start_server(env: Mapping[str, str] | None = None, port: int | None = None,
                 log: Path | None = None) -> Server:
    """Start the app on 127.0.0.1 with extra environment variables (e.g. ASF_DATA_DIR)."""
    port = port or free_port()
    log = log or Path(tempfile.mkstemp(prefix="asf-streamlit-", suffix=".log")[1])
    command = [sys.executable, "-m", "ui.serve",
               "--server.port", str(port), "--server.address", "127.0.0.1",
               "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none"]
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **(env or {})},
                                   stdout=out, stderr=subprocess.STDOUT)
    return Server(process, port, log, started)


def wait_health(server: Server, timeout: float = 60) -> float:
    """Wait until /_stcore/health answers "ok"; return seconds since the server started."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"Streamlit stopped:\n{server.output()}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - server.started
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"No health answer within {timeout} s:\n{server.output()}")


def chromium(user_data_dir: Path, width: int = 1280, height: int = 1400) -> Any:
    """Return a Selenium driver for a fresh headless Chromium profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    options.add_argument(f"--window-size={width},{height}")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary:
        options.binary_location = binary
    service = Service(shutil.which("chromedriver") or "chromedriver")
    return webdriver.Chrome(service=service, options=options)


def wait_ready(driver: Any, url: str, timeout: float = 120) -> float:
    """Open the app and wait until the chat input is open for typing; return the seconds it
    took."""
    start = time.perf_counter()
    driver.get(url)
    wait_for(driver, CHAT_INPUT_OPEN, timeout)
    return time.perf_counter() - start


def wait_for(driver: Any, selector: str, timeout: float = 120) -> Any:
    """Wait until an element matching the CSS selector is on the page; return the first."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(
        lambda d: d.find_element(By.CSS_SELECTOR, selector))


def completed_answers(driver: Any) -> int:
    """Return how many assistant turns on the page are complete (one query in the page)."""
    return int(driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0]))"
        ".filter(m => m.querySelector(arguments[1])).length", MESSAGE, DONE))


def ask(driver: Any, question: str, timeout: float = 120) -> float:
    """Type a question, send it and wait for the complete answer; return the seconds it took."""
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    before = completed_answers(driver)
    box = wait_for(driver, CHAT_INPUT_OPEN, timeout)
    box.send_keys(question)
    start = time.perf_counter()
    box.send_keys(Keys.ENTER)
    WebDriverWait(driver, timeout, poll_frequency=0.02).until(
        lambda d: completed_answers(d) > before)
    return time.perf_counter() - start
