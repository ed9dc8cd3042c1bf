"""Screenshot a report.html in headless Chromium (Debian's chromium + chromium-driver), e.g. to refresh
the README's picture from a real run:

    .venv/bin/python scripts/screenshot_report.py runs/default/report.html docs/report.png
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("png", type=Path)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=1500)
    args = parser.parse_args()
    if not args.report.is_file():
        print(f"no report at {args.report}", file=sys.stderr)
        return 2
    os.environ.setdefault("SE_OFFLINE", "true")  # never download a driver or a browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    with tempfile.TemporaryDirectory() as profile:
        for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
                     "--disable-background-networking", "--disable-dev-shm-usage",
                     f"--window-size={args.width},{args.height}", f"--user-data-dir={profile}"):
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                                  options=options)
        try:
            driver.get(args.report.resolve().as_uri())
            args.png.parent.mkdir(parents=True, exist_ok=True)
            if not driver.save_screenshot(str(args.png)):
                print("the browser did not save a screenshot", file=sys.stderr)
                return 1
        finally:
            driver.quit()
    print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
