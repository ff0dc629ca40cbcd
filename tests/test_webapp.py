"""The web app of `faceatlas serve` in a real browser: Debian's Chromium (never a downloaded one) driven by Playwright
against a real server process whose library indexed a folder of LFW photos (linked, never copied): log in, name
people on the Review page by keyboard alone, search by photo, enrol by upload, erase; the session cookie's flags,
CSRF, and nothing fetched from another origin. Screenshots of each page go to test-artifacts/web/ (not committed:
they show development-data faces)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import httpx
import pytest
from helpers import data_path
from playwright.sync_api import expect, sync_playwright
from serving import make_key, running_server

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "web"
PEOPLE = ("Ricardo_Lagos", "Paul_Wolfowitz", "Jennifer_Lopez", "Hans_Blix")
BLURRED = ("Paul_Wolfowitz", "Jennifer_Lopez")  # a blurred copy of one more photo: a cluster asked about
COLLECTION = "home"

pytestmark = pytest.mark.data


@dataclass
class Site:
    url: str
    token: str  # an admin key for every collection
    images: Path  # LFW's images/NAME/ folders
    requests: list[str]  # every URL the page asked for
    errors: list[str]  # script errors and Content Security Policy refusals


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One server over a library of 5 photos of each of PEOPLE (and two blurred sixth photos), indexed through the
    API."""
    images = data_path("lfw_view1", "images")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium (.ci/run does) to test the web app")
    root = tmp_path_factory.mktemp("webapp")
    photos = root / "photos"
    photos.mkdir()
    for person in PEOPLE:
        files = sorted((images / person).glob("*.jpg"))
        for file in files[:5]:
            (photos / file.name).symlink_to(file)
        if person in BLURRED:
            cv2.imwrite(str(photos / f"{person}_blurred.jpg"), cv2.GaussianBlur(cv2.imread(str(files[5])), (0, 0), 3))
    keys = root / "keys.json"
    token = make_key(keys, "admin", collection="*")
    with running_server(keys, gallery_url=f"sqlite:///{root / 'gallery.db'}", serve_folders=json.dumps([str(photos)]),
                        workers="1") as url:  # one analysing process: a second's start costs more than 22 photos
        with httpx.Client(base_url=url, headers={"X-API-Key": token}, timeout=60) as api:
            job = api.post(f"/v1/collections/{COLLECTION}/library/index", json={"folder": str(photos)})
            assert job.status_code == 202, job.text
            deadline = time.monotonic() + 60
            while (state := api.get(f"/v1/jobs/{job.json()['id']}").json())["state"] not in ("done", "failed"):
                assert time.monotonic() < deadline, state
                time.sleep(0.2)
            assert state["state"] == "done" and state["result"]["faces"] >= 20, state
        yield Site(url, token, images, [], [])


@pytest.fixture(scope="module")
def page(site: Site) -> Iterator:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        context.set_default_timeout(15_000)
        tab = context.new_page()
        tab.on("request", lambda request: site.requests.append(request.url))
        tab.on("pageerror", lambda error: site.errors.append(str(error)))
        tab.on("console", lambda message: site.errors.extend([message.text] * ("Content Security" in message.text)))
        yield tab
        browser.close()


def shot(page, name: str) -> None:
    for image in page.locator("img").all():
        expect(image).to_have_js_property("complete", True)  # loaded (or failed, then replaced by initials)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def go(page, site: Site, where: str) -> None:
    page.goto(f"{site.url}/#/{where}")
    page.locator(".page-title").first.wait_for()


def test_log_in_gives_an_httponly_samesite_strict_session_cookie(page, site: Site):
    page.goto(site.url)
    page.locator("#api-key").wait_for()
    assert page.evaluate("document.activeElement.id") == "api-key"
    page.keyboard.type("fa_nobody_wrong")
    page.keyboard.press("Enter")
    page.get_by_text("That key is not valid").wait_for()
    shot(page, "login")
    page.fill("#api-key", site.token)
    page.keyboard.press("Enter")
    page.locator("#who").get_by_text("tests (admin)").wait_for()
    expect(page.locator("#collection")).to_have_value(COLLECTION)
    [cookie] = page.context.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"], cookie["secure"], cookie["path"]) == (
        "faceatlas_session", True, "Strict", False, "/")
    assert site.token not in cookie["value"] and page.evaluate("document.cookie") == ""  # scripts cannot read it


def test_a_change_with_the_cookie_needs_the_csrf_token_and_a_revoked_key_ends_its_sessions(page, site: Site):
    cookie = {c["name"]: c["value"] for c in page.context.cookies()}
    with httpx.Client(base_url=site.url, cookies=cookie, timeout=30) as browser:
        who = browser.get("/v1/session").json()
        assert who["scopes"] == ["admin"] and who["collections"] == ["*"]
        new_key = {"name": "desk", "scopes": ["identify"], "collections": [COLLECTION]}
        assert browser.post("/v1/keys", json=new_key).status_code == 403
        assert browser.post("/v1/keys", json=new_key, headers={"X-CSRF-Token": "guess"}).status_code == 403
        assert browser.delete("/v1/session").status_code == 403  # logging out is a change too
        assert browser.get(f"/v1/collections/{COLLECTION}/people").status_code != 403  # reading needs no token
        made = browser.post("/v1/keys", json=new_key, headers={"X-CSRF-Token": who["csrf_token"]})
        assert made.status_code == 201 and made.json()["token"].startswith("fa_"), made.text
    in_page = page.evaluate("""async () => (await fetch('/v1/keys', {method: 'POST', body: '{}',
                                   headers: {'Content-Type': 'application/json'}})).status""")
    assert in_page == 403
    with httpx.Client(base_url=site.url, timeout=30) as desk:
        assert desk.post("/v1/session", json={"key": made.json()["token"]}).status_code == 200
        assert desk.get("/v1/session").json()["name"] == "desk"
        revoked = httpx.delete(f"{site.url}/v1/keys/{made.json()['key']['id']}", headers={"X-API-Key": site.token})
        assert revoked.status_code == 204
        assert desk.get("/v1/session").status_code == 401
        assert desk.get(f"/v1/collections/{COLLECTION}/people").status_code == 401


def test_review_names_three_people_with_the_keyboard_alone(page, site: Site):
    go(page, site, "review")
    heading, progress = page.locator("#review-question"), page.locator("#review-progress")
    named: list[str] = []
    questions = 0
    for _ in range(40):
        expect(heading).not_to_be_empty()
        asked = heading.inner_text()
        if asked.startswith("Is this"):
            questions += 1
            if questions == 1:
                shot(page, "review-question")
                expect(progress).to_contain_text("Answered 0")
                page.keyboard.press("y")
                expect(progress).to_contain_text("Answered 1")
                if page.locator("#review-name").count():  # the next is "Who is this?", its box focused: Tab out
                    page.keyboard.press("Tab")
                page.keyboard.press("u")  # undo: the same question again
                expect(progress).to_contain_text("Answered 0")
                expect(heading).to_have_text(asked)
            before = progress.inner_text()
            page.keyboard.press("y")
            expect(progress).not_to_have_text(before)
        elif asked == "Who is this?":
            expect(page.locator("#review-name")).to_be_focused()
            about = page.locator("#review-about").inner_text()  # "Cluster N: K faces in P photos, e.g. FILE"
            faces = int(about.split(": ")[1].split()[0])
            person = about.rsplit("e.g. ", 1)[1].rsplit("_", 1)[0]
            before = progress.inner_text()
            if len(named) < 3 and faces >= 3 and person in PEOPLE and person not in named:
                if not named:
                    shot(page, "review-who-is-this")
                    page.keyboard.type(person)
                    page.keyboard.press("Enter")
                    expect(progress).to_contain_text("People named 1")
                    if page.locator("#review-name").count():  # the next "Who is this?" box is focused: Tab out
                        page.keyboard.press("Tab")
                    page.keyboard.press("u")  # the naming taken back: the same cluster asked again
                    expect(progress).to_contain_text("People named 0")
                    expect(page.locator("#review-about")).to_have_text(about)
                    expect(page.locator("#review-name")).to_be_focused()
                page.keyboard.type(person)
                page.keyboard.press("Enter")
                named.append(person)
            else:
                page.keyboard.press("Tab")  # out of the box, then s: skip
                page.keyboard.press("s")
            expect(progress).not_to_have_text(before)
        else:
            break
    assert heading.inner_text() == "Nothing left to review" and len(named) == 3
    assert questions >= 1, "no review question was asked (the blurred photos joined their person's cluster)"
    assert "People named 3" in progress.inner_text() and "About 0 left" in progress.inner_text()
    shot(page, "review-done")
    enrolled = httpx.get(f"{site.url}/v1/collections/{COLLECTION}/people", headers={"X-API-Key": site.token}).json()
    assert sorted(p["name"] for p in enrolled) == sorted(named)


def test_people_grid_and_a_persons_photos(page, site: Site):
    go(page, site, "people")
    cards = page.locator("ul.grid a.card")
    cards.first.wait_for()
    assert cards.count() == 3
    assert page.locator("ul.grid img.face").count() == 3  # every person has a face picture
    shot(page, "people")
    name = cards.first.locator(".name").inner_text()
    cards.first.focus()
    page.keyboard.press("Enter")
    page.locator(".page-title", has_text=name).wait_for()
    assert page.locator("ul.samples figure").count() >= 3
    shot(page, "person")


def test_search_by_photo_boxes_each_face_with_its_decision(page, site: Site):
    go(page, site, "search")
    page.select_option("#search-rate", "fmr=0.001")
    [someone] = [p for p in PEOPLE if httpx.get(f"{site.url}/v1/collections/{COLLECTION}/people/{p}",
                                                 headers={"X-API-Key": site.token}).status_code == 200][:1]
    unseen = sorted((site.images / someone).glob("*.jpg"))[6]  # indexed: the first five and a blurred sixth
    page.set_input_files("#search-photo", str(unseen))
    page.locator(".frame .box").first.wait_for()
    assert page.locator(".frame .box.known span").first.inner_text() == f"1. {someone}"
    assert someone in page.locator("ol.faces").inner_text()
    shot(page, "search")


def test_rename_move_a_photo_and_merge_on_a_persons_page(page, site: Site):
    go(page, site, "people/Hans_Blix")
    page.fill("#field-rename", "Hans Blix")
    page.get_by_role("button", name="Rename").click()
    page.locator(".page-title", has_text="Hans Blix").wait_for()
    photos = page.locator("ul.samples figure")
    expect(photos).to_have_count(5)
    photos.first.get_by_role("checkbox").check()
    page.fill("#field-move-selected-photos", "Blix Double")
    page.get_by_role("button", name="Move selected photos").click()
    expect(photos).to_have_count(4)
    go(page, site, "people/Blix Double")
    expect(photos).to_have_count(1)
    page.fill("#field-merge", "Hans Blix")
    page.get_by_role("button", name="Merge").click()
    page.locator(".page-title", has_text="Hans Blix").wait_for()
    expect(photos).to_have_count(5)


def test_enrol_by_upload_then_erase_with_the_proof(page, site: Site):
    go(page, site, "admin")
    page.locator("#keys-title").wait_for()
    shot(page, "admin")
    page.fill("#enrol-name", "Angelina_Jolie")
    page.set_input_files("#enrol-photos", [str(p) for p in sorted((site.images / "Angelina_Jolie").glob("*.jpg"))[:2]])
    page.get_by_role("button", name="Enrol").click()
    page.get_by_text("Angelina_Jolie: 2 photo(s) added.").wait_for()
    go(page, site, "people")
    page.locator("a.card", has_text="Angelina_Jolie").click()
    page.get_by_role("button", name="Erase Angelina_Jolie…").click()
    page.get_by_role("dialog").get_by_role("button", name="Erase Angelina_Jolie").click()
    proof = page.locator("pre.proof")
    proof.wait_for()
    assert "none of its" in proof.inner_text()
    shot(page, "erased")
    go(page, site, "people")
    page.locator("ul.grid a.card").first.wait_for()
    assert "Angelina_Jolie" not in page.locator("ul.grid").inner_text()


def test_log_out_and_nothing_was_fetched_from_another_origin_nor_refused(page, site: Site):
    page.get_by_role("button", name="Log out").click()
    page.locator("#api-key").wait_for()
    assert page.context.cookies() == []
    elsewhere = [url for url in site.requests if not url.removeprefix("blob:").startswith(f"{site.url}/")]
    assert site.requests and not elsewhere  # blob: the searched photo, shown from memory
    assert site.errors == []
