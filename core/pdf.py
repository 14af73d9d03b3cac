"""report.pdf: the HTML report printed by headless Chromium, so every Plotly figure is drawn as it is on screen.

Chromium is Debian's ``chromium`` package (the browser tests already use it); SEGSTUDIO_CHROMIUM names another
binary. Without one, the message says how to get it, and the HTML report still works.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from core.errors import SegmentationError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
PRINT_WIDTH = 820  # CSS pixels: about A4's printable width, so figures are laid out at the width they print at
TIMEOUT = 180
NO_BROWSER = (
    "Making a PDF needs Chromium or Chrome, and none was found: install it (on Debian or Ubuntu: "
    "apt-get install chromium) or set SEGSTUDIO_CHROMIUM to its path. The HTML report works without it."
)


def find_browser() -> str | None:
    chosen = os.environ.get("SEGSTUDIO_CHROMIUM")
    if chosen:
        return chosen if Path(chosen).is_file() and os.access(chosen, os.X_OK) else None
    return next((found for name in BROWSERS if (found := shutil.which(name))), None)


def html_to_pdf(html_text: str) -> bytes:
    """The PDF of a self-contained HTML page, printed after its scripts have drawn the figures.

    Raises:
        SegmentationError: no browser, or it failed or took longer than three minutes.
    """
    browser = find_browser()
    if browser is None:
        raise SegmentationError(NO_BROWSER)
    with tempfile.TemporaryDirectory(prefix="segstudio-pdf-") as work:
        page, pdf = Path(work) / "report.html", Path(work) / "report.pdf"
        page.write_text(html_text, encoding="utf-8")
        command = [
            browser,
            "--headless",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={Path(work) / 'profile'}",
            f"--window-size={PRINT_WIDTH},1200",
            "--virtual-time-budget=30000",
            "--run-all-compositor-stages-before-draw",
            "--no-pdf-header-footer",
            "--print-to-pdf-no-header",
            f"--print-to-pdf={pdf}",
            page.as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.insert(1, "--no-sandbox")  # Chromium refuses to start its sandbox as root
        try:
            done = subprocess.run(command, capture_output=True, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise SegmentationError(f"Chromium took longer than {TIMEOUT} s to print the report.") from None
        except OSError as exc:
            raise SegmentationError(f"Chromium could not be started ({exc.strerror or exc}).") from None
        if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
            last = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no message"])[-1]
            raise SegmentationError(f"Chromium could not print the report (exit {done.returncode}: {last[:200]}).")
        return pdf.read_bytes()
