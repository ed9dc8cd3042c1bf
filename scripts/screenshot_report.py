"""Screenshot a report.html in headless Chromium (Debian's chromium + chromium-driver), e.g. to refresh
the README's picture from a real run, or to look at a report as a reader would:

    .venv/bin/python scripts/screenshot_report.py runs/default/report.html docs/report.png
    .venv/bin/python scripts/screenshot_report.py report.html shots/phone.png --width 390 --full-page

It also says whether the page is wider than the window (a reader would have to scroll sideways),
and exits 3 when it is.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

MAX_HEIGHT = 16000  # Chromium refuses larger screenshots


def _driver(width: int, height: int, profile: str):
    os.environ.setdefault("SE_OFFLINE", "true")  # never download a driver or a browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                 "--disable-background-networking", "--disable-dev-shm-usage",
                 f"--window-size={width},{height}", f"--user-data-dir={profile}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                            options=options)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1500)
    parser.add_argument("--full-page", action="store_true", help="grow the window to the page's height first")
    args = parser.parse_args()
    if not args.report.is_file():
        print(f"no report at {args.report}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as profile:
        driver = _driver(args.width, args.height, profile)
        try:
            driver.set_window_size(args.width, args.height)  # the flag alone is clamped to 500 px wide
            driver.get(args.report.resolve().as_uri())
            if args.full_page:
                height = driver.execute_script("return document.documentElement.scrollHeight")
                driver.set_window_size(args.width, min(height + 120, MAX_HEIGHT))
            overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            args.png.parent.mkdir(parents=True, exist_ok=True)
            if not driver.save_screenshot(str(args.png)):
                print("the browser did not save a screenshot", file=sys.stderr)
                return 1
        finally:
            driver.quit()
    print(f"wrote {args.png}")
    if overflow > 1:
        print(f"the page is {overflow}px wider than a {args.width}px window", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
