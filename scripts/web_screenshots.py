"""Screenshots of the web app for the README, made from one public-domain photo only: scikit-image's astronaut.png
(NASA's portrait of Eileen Collins). Variants of it (mirrored, shifted, scaled, turned, lighter, darker, and one
blurred copy) are indexed by a real `faceatlas serve` on loopback, with a temporary FACEATLAS_HOME, gallery and key
file; Debian's Chromium, driven by Playwright (no browser is downloaded), logs in, names the cluster on the Review
page and saves docs/images/web-{login,review-who-is-this,review-question,people,person,search,admin}.png (the
viewport only, 256 colours: each file well under 150 KB).

    .venv/bin/python scripts/web_screenshots.py
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import cv2
import httpx
import numpy as np
import skimage
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from faceatlas.client import local_server
from faceatlas.config import get_settings

ASTRONAUT = Path(skimage.data.__file__).parent / "astronaut.png"
IMAGES = Path(__file__).resolve().parents[1] / "docs" / "images"
CHROMIUM = Path("/usr/bin/chromium")
COLLECTION = "home"
NAME = "Eileen Collins"
BLUR = 4.0  # a copy this blurred (Gaussian sigma, pixels) is her at a similarity inside the review band
COLOURS = 256  # each screenshot is saved as a PNG of this many colours: a small file


def turned(bgr: np.ndarray, degrees: float, scale: float = 1.0, shift: tuple[int, int] = (0, 0)) -> np.ndarray:
    height, width = bgr.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 3), degrees, scale)
    matrix[:, 2] += shift
    return cv2.warpAffine(bgr, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)


def demo_photos(folder: Path) -> Path:
    """Write the library's photos into `folder`/library; returns a 'group' photo to search with, kept outside the
    library: two copies side by side, scaled down, the second mirrored and out of focus (too blurred to be known)."""
    photo = cv2.imread(str(ASTRONAUT))
    library = folder / "library"
    library.mkdir()
    variants = {
        "astronaut": photo,
        "mirrored": photo[:, ::-1],
        "shifted": turned(photo, 0, shift=(-40, 30)),
        "smaller": cv2.resize(photo, (320, 320), interpolation=cv2.INTER_AREA),
        "turned": turned(photo, 6),
        "turned-back": turned(photo, -5, scale=0.85),
        "lighter": cv2.convertScaleAbs(photo, alpha=1.15, beta=20),
        "darker": cv2.convertScaleAbs(photo, alpha=0.7, beta=-10),
        "blurred": cv2.GaussianBlur(photo, (0, 0), BLUR),
    }
    for name, bgr in variants.items():
        cv2.imwrite(str(library / f"{name}.jpg"), bgr, [cv2.IMWRITE_JPEG_QUALITY, 92])
    half = cv2.resize(photo, (320, 320), interpolation=cv2.INTER_AREA)
    group = np.hstack([half, np.full((320, 40, 3), 235, np.uint8), cv2.GaussianBlur(half[:, ::-1], (0, 0), 4)])
    cv2.imwrite(str(folder / "group.jpg"), group, [cv2.IMWRITE_JPEG_QUALITY, 92])
    return folder / "group.jpg"


@contextmanager
def server(root: Path, library: Path) -> Iterator[tuple[str, str]]:
    """`faceatlas serve` on a free loopback port over a temporary home, gallery and key file: (URL, an admin key)."""
    home = root / "home"
    home.mkdir()
    if get_settings().models_dir.is_dir():  # the models already converted: not again
        (home / "models").symlink_to(get_settings().models_dir)
    env = {**os.environ, "FACEATLAS_HOME": str(home), "FACEATLAS_API_KEYS": str(root / "keys.json"),
           "FACEATLAS_GALLERY_URL": f"sqlite:///{root / 'gallery.db'}",
           "FACEATLAS_SERVE_FOLDERS": json.dumps([str(library)]), "FACEATLAS_WORKERS": "1"}
    cli = [sys.executable, "-m", "faceatlas.cli"]
    token = subprocess.run([*cli, "serve", "keys", "create", "demo", "--scope=admin", "--collection=*"],
                           capture_output=True, text=True, timeout=60, env=env, check=True).stdout.strip()
    with local_server(root / "server.log", env) as started:
        yield started.url, token


def index(url: str, token: str, library: Path) -> None:
    with httpx.Client(base_url=url, headers={"X-API-Key": token}, timeout=60) as api:
        job = api.post(f"/v1/collections/{COLLECTION}/library/index", json={"folder": str(library)})
        job.raise_for_status()
        deadline = time.monotonic() + 120
        while (state := api.get(f"/v1/jobs/{job.json()['id']}").json())["state"] not in ("done", "failed"):
            if time.monotonic() > deadline:
                raise SystemExit(f"indexing did not finish: {state}")
            time.sleep(0.2)
    if state["state"] != "done":
        raise SystemExit(f"indexing failed: {state}")
    print(f"indexed: {state['result']['faces']} faces")


def shot(page: Page, name: str) -> None:
    for image in page.locator("img").all():
        expect(image).to_have_js_property("complete", True)
    path = IMAGES / f"web-{name}.png"
    picture = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
    picture.quantize(COLOURS, method=Image.Quantize.FASTOCTREE).save(path, optimize=True)
    print(f"{path}: {path.stat().st_size // 1024} KB")


def go(page: Page, url: str, where: str) -> None:
    page.goto(f"{url}/#/{where}")
    page.locator(".page-title").first.wait_for()


def screenshots(page: Page, url: str, token: str, search_photo: Path) -> list[str]:
    """Drive every page, saving its screenshot; returns the shots that could not be made."""
    skipped = []
    page.goto(url)
    page.locator("#api-key").wait_for()
    shot(page, "login")
    page.fill("#api-key", token)
    page.keyboard.press("Enter")
    page.locator("#who").get_by_text("demo (admin)").wait_for()

    go(page, url, "review")
    heading = page.locator("#review-question")
    expect(heading).to_have_text("Who is this?")
    shot(page, "review-who-is-this")
    page.keyboard.type(NAME)
    page.keyboard.press("Enter")
    expect(page.locator("#review-progress")).to_contain_text("People named 1")
    if heading.inner_text() == f"Is this {NAME}?":
        shot(page, "review-question")
    else:
        skipped.append(f"review-question (the review asked {heading.inner_text()!r})")

    go(page, url, "people")
    page.locator("ul.grid img.face").first.wait_for()
    page.evaluate("document.activeElement.blur()")  # the page's title, focused for screen readers: no ring
    shot(page, "people")
    page.locator("ul.grid a.card").first.click()
    page.locator(".page-title", has_text=NAME).wait_for()
    page.locator("ul.samples figure").first.wait_for()
    shot(page, "person")

    go(page, url, "search")
    page.select_option("#search-rate", "fmr=0.001")
    page.set_input_files("#search-photo", str(search_photo))
    page.locator(".frame .box").first.wait_for()
    shot(page, "search")

    go(page, url, "admin")
    page.locator("#keys-title").wait_for()
    shot(page, "admin")
    return skipped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=750)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: install Debian's chromium")
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="faceatlas-web-") as temporary:
        root = Path(temporary)
        search_photo = demo_photos(root)
        with server(root, root / "library") as (url, token), sync_playwright() as playwright:
            index(url, token, root / "library")
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
            context = browser.new_context(viewport={"width": args.width, "height": args.height})
            context.set_default_timeout(15_000)
            try:
                skipped = screenshots(context.new_page(), url, token, search_photo)
            finally:
                browser.close()
    for reason in skipped:
        print(f"skipped: {reason}")


if __name__ == "__main__":
    main()
