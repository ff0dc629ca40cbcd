"""Hostile requests against a running `faceatlas serve`: the bad-image corpus of the decoder's own tests, polyglots
and decompression bombs, oversized and slow bodies, wrong content types and multipart bombs. Each is a prompt 4xx
RFC 9457 problem with its type; afterwards the server is healthy and its memory bounded."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from helpers import ASTRONAUT
from serving import Server, make_key, running_server, upload
from test_image_io import BAD_FILES, huge_jpeg, png_bytes

UPLOAD_LIMIT = 2_000_000
MAX_PIXELS = 25_000_000
REQUEST_TIMEOUT = 2.0
COLLECTION = "hostile"
PROMPT = 3.0
"""Seconds within which every refusal must come (the decoder refuses a bomb from its header)."""
RSS_LIMIT_MB, RSS_GROWTH_MB = 1500, 300


@dataclass(frozen=True)
class Outcome:
    attack: str
    route: str
    status: int
    type: str
    seconds: float


OUTCOMES: list[Outcome] = []
"""Every attack's answer, printed as a table by the last test."""


def memory_mb(pid: int, field: str = "VmRSS") -> int:
    """A process's resident memory (VmRSS) or its peak (VmHWM), in MB, from /proc."""
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith(f"{field}:"))


@dataclass
class Target:
    url: Server
    headers: dict[str, str]
    rss_before: int


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A server with small limits (2 MB bodies, 25 MP images, 2 s for a body), a collection with one person so that
    identify analyses the upload, and a key for that collection; its memory once warm."""
    home = tmp_path_factory.mktemp("hostile")
    keys = home / "keys.json"
    headers = {"X-API-Key": make_key(keys, "analyze", "identify", "enrol", collection=COLLECTION)}
    with running_server(keys, gallery_url=f"sqlite:///{home / 'gallery.db'}", max_upload_bytes=str(UPLOAD_LIMIT),
                        max_pixels=str(MAX_PIXELS), request_timeout=str(REQUEST_TIMEOUT)) as url:
        enrolled = httpx.post(f"{url}/v1/collections/{COLLECTION}/people/alice/faces", headers=headers, timeout=60,
                              files=[("images", upload(ASTRONAUT))])
        assert enrolled.status_code == 200, enrolled.text
        yield Target(url, headers, memory_mb(url.pid))


def polyglots(_: Path) -> dict[str, bytes]:
    return {
        "gif-javascript-polyglot": b"GIF89a/*\x0a\x00\x00\x00\x00*/=alert(document.domain)//;",
        "jpeg-marker-then-html": b"\xff\xd8\xff\xe0<html><script>alert(1)</script></html>",
        "svg-with-script": b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        "pdf": b"%PDF-1.7\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF",
    }


def bombs(tmp: Path) -> dict[str, bytes]:
    """Headers declaring far more pixels than FACEATLAS_MAX_PIXELS, the last a real 100-megapixel PNG in ~100 KB."""
    return {
        "png-bomb-20000x20000": png_bytes(20000, 20000),
        "png-bomb-1x150000000": png_bytes(1, 150_000_000),
        "jpeg-bomb-30000x30000": huge_jpeg(tmp, 30000, 30000),
        "png-10000x10000-zeros": png_bytes(10000, 10000, b"\x00" * 10001 * 10000),
    }


def corpus(tmp: Path) -> dict[str, tuple[bytes, int, str]]:
    """Each hostile upload -> the status and problem type it must get."""
    decode, too_large = (422, "image-decode-error"), (413, "image-too-large-error")
    return {**{name: (make(tmp), *decode) for name, (make, _) in BAD_FILES.items()},
            **{name: (data, *decode) for name, data in polyglots(tmp).items()},
            **{name: (data, *too_large) for name, data in bombs(tmp).items()}}


def timed(attack: str, route: str, call: Callable[[], httpx.Response]) -> httpx.Response:
    """`call`'s answer, recorded; it must be a problem (never a traceback) and come promptly."""
    started = time.monotonic()
    answer = call()
    seconds = time.monotonic() - started
    kind = answer.json().get("type", "").rpartition(":")[2] if answer.headers.get("content-type") == \
        "application/problem+json" else answer.headers.get("content-type", "")
    OUTCOMES.append(Outcome(attack, route, answer.status_code, kind, seconds))
    assert answer.headers["content-type"] == "application/problem+json", (attack, answer.text[:200])
    assert "Traceback" not in answer.text and seconds < PROMPT, (attack, seconds)
    return answer


def test_every_hostile_image_is_a_4xx_problem_of_its_type(target: Target, tmp_path: Path):
    routes = {"/v1/analyze": "image", f"/v1/collections/{COLLECTION}/identify": "image"}
    wrong = []
    for name, (data, status, kind) in corpus(tmp_path).items():
        assert len(data) < UPLOAD_LIMIT, name
        for route, field in routes.items():
            answer = timed(name, route, lambda r=route, f=field, d=data, n=name: httpx.post(
                f"{target.url}{r}", files={f: (f"{n}.jpg", d, "image/jpeg")}, headers=target.headers, timeout=30))
            if (answer.status_code, answer.json()["type"]) != (status, f"urn:faceatlas:problem:{kind}"):
                wrong.append((name, route, answer.status_code, answer.json()["type"]))
    assert wrong == []


def test_oversized_bodies_are_refused_413_declared_or_streamed(target: Target):
    multipart = {**target.headers, "content-type": "multipart/form-data; boundary=x"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused once past the limit
        for _ in range(UPLOAD_LIMIT // 65536 + 8):
            yield b"y" * 65536

    for attack, content in {"declared body over the limit": b"x" * (UPLOAD_LIMIT + 1),
                            "chunked body over the limit": chunks()}.items():
        answer = timed(attack, "/v1/analyze", lambda c=content: httpx.post(
            f"{target.url}/v1/analyze", content=c, headers=multipart, timeout=30))
        assert answer.status_code == 413 and answer.json()["type"] == "urn:faceatlas:problem:body-too-large"


def slow_body(url: str, headers: dict[str, str], framing: str) -> tuple[int, dict, float, bool]:
    """A request whose body trickles in a byte every 0.4 s (with a Content-Length, or chunked): its status, problem,
    seconds until answered, and whether the server then closed the connection."""
    host, port = url.removeprefix("http://").split(":")
    head = ["POST /v1/analyze HTTP/1.1", f"Host: {host}", "Content-Type: multipart/form-data; boundary=b",
            *(f"{k}: {v}" for k, v in headers.items()),
            "Content-Length: 100000" if framing == "length" else "Transfer-Encoding: chunked"]
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        connection.settimeout(0.4)
        started, received = time.monotonic(), b""
        while b"\r\n\r\n" not in received or len(received) < received.index(b"\r\n\r\n") + 40:
            assert time.monotonic() - started < 15, "no answer to a slow body"
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the server may have answered
                connection.sendall(b"-" if framing == "length" else b"1\r\n-\r\n")
            try:
                received += connection.recv(65536)
            except TimeoutError:
                continue
        seconds = time.monotonic() - started
        connection.settimeout(3)
        closed = False
        try:
            while chunk := connection.recv(65536):
                received += chunk
            closed = True
        except ConnectionResetError:
            closed = True
        except TimeoutError:
            pass
    status = int(received.split(b" ", 2)[1])
    body = received.split(b"\r\n\r\n", 1)[1]
    return status, json.loads(body), seconds, closed


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_body_slower_than_the_timeout_is_refused_408_and_the_connection_closed(target: Target, framing: str):
    status, problem, seconds, closed = slow_body(target.url, target.headers, framing)
    OUTCOMES.append(Outcome(f"slow body ({framing}, 1 byte / 0.4 s)", "/v1/analyze", status,
                            problem["type"].rpartition(":")[2], seconds))
    assert status == 408 and problem["type"] == "urn:faceatlas:problem:body-timeout", problem
    assert REQUEST_TIMEOUT <= seconds < REQUEST_TIMEOUT + PROMPT and closed


def parts(count: int, disposition: str, value: bytes = b"y") -> bytes:
    return b"".join(b"--b\r\nContent-Disposition: form-data; " + disposition.format(i).encode() + b"\r\n\r\n" + value +
                    b"\r\n" for i in range(count)) + b"--b--\r\n"


WRONG_BODIES: dict[str, tuple[str, bytes, int]] = {  # attack -> (content type, body, status)
    "JSON": ("application/json", b'{"image": "aGVsbG8="}', 422),
    "text/plain": ("text/plain", b"an image, honestly", 422),
    "form-urlencoded": ("application/x-www-form-urlencoded", b"image=aGVsbG8%3D", 422),
    "multipart without boundary": ("multipart/form-data", b"--x\r\n\r\n--x--\r\n", 400),
    "5,000 tiny fields": ("multipart/form-data; boundary=b", parts(5000, 'name="x{}"'), 400),
    "5,000 tiny files": ("multipart/form-data; boundary=b", parts(5000, 'name="image"; filename="{}.png"'), 400),
    "a part with 1.5 MB of headers": ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data; "
                                      b'name="image"; filename="a.png"\r\nX-Pad: ' + b"a" * 1_500_000 +
                                      b"\r\n\r\ny\r\n--b--\r\n", 400),
    "a 1.5 MB text field": ("multipart/form-data; boundary=b", parts(1, 'name="note"', b"n" * 1_500_000), 400),
    "nested, never-closed boundaries": ("multipart/form-data; boundary=b", b"--b\r\nContent-Disposition: form-data; "
                                        b'name="image"; filename="a.png"\r\nContent-Type: multipart/mixed; '
                                        b"boundary=c\r\n\r\n" + b"--c\r\n" * 20_000 + b"payload", 422),
}


@pytest.mark.parametrize("attack", WRONG_BODIES)
def test_wrong_content_types_and_multipart_bombs_are_prompt_4xx_problems(target: Target, attack: str):
    content_type, body, status = WRONG_BODIES[attack]
    assert len(body) < UPLOAD_LIMIT
    answer = timed(attack, "/v1/analyze", lambda: httpx.post(
        f"{target.url}/v1/analyze", content=body, headers={**target.headers, "content-type": content_type},
        timeout=30))
    assert answer.status_code == status, answer.text


def test_after_every_attack_the_server_is_healthy_and_its_memory_bounded(target: Target):
    assert httpx.get(f"{target.url}/healthz").json()["status"] == "ok"
    found = httpx.post(f"{target.url}/v1/analyze", files={"image": upload(ASTRONAUT)}, headers=target.headers,
                       timeout=30)
    assert found.status_code == 200 and len(found.json()["faces"]) == 1
    rss, peak = memory_mb(target.url.pid), memory_mb(target.url.pid, "VmHWM")
    print(f"\n{'attack':<40} {'route':<36} status  problem type           seconds")
    for o in OUTCOMES:
        print(f"{o.attack:<40} {o.route:<36} {o.status:<7} {o.type:<22} {o.seconds:7.3f}")
    print(f"{len(OUTCOMES)} attacks; server RSS {target.rss_before} MB before, {rss} MB after, peak {peak} MB")
    assert peak < RSS_LIMIT_MB and rss - target.rss_before < RSS_GROWTH_MB
    assert "Traceback" not in target.url.log.read_text()
