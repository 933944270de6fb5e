"""A real headless Chromium driven over the DevTools protocol (aiohttp's websocket).

The tests start it and stop it themselves. ``open_page`` loads a file and answers what a
reader would see: every console error, uncaught exception and browser log error while it
loaded, the DOM (through ``evaluate``) and a PNG screenshot. ``png_pixels`` decodes that
PNG with zlib alone, so that a test can tell a blank page from a drawn one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import os
import shutil
import struct
import tempfile
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import attrs
import pytest

__all__ = ["Page", "chromium_or_skip", "open_page", "png_pixels"]

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--no-first-run",
    "--no-default-browser-check",
    "--mute-audio",
    "--remote-debugging-port=0",
    "--remote-debugging-address=127.0.0.1",
)
_TIMEOUT = 30.0


def chromium_or_skip() -> str:
    """The Chromium binary; skips the test when there is none (fails under CI)."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        if os.environ.get("RERUNORCH_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is not installed (CI installs it: see .ci/run)")
        pytest.skip("chromium is not installed")
    return binary


@attrs.define
class Page:
    """One loaded page: what went wrong while it loaded, and a way to ask it things.

    Attributes:
        errors: Console errors, uncaught exceptions and browser log errors, as they came
            (while it loaded and since).
    """

    errors: list[str]
    _call: Any
    _reader: asyncio.Task[None]

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (returned by value)."""
        answer = await self._call(
            "Runtime.evaluate", {"expression": expression, "returnByValue": True}
        )
        if "exceptionDetails" in answer:
            raise AssertionError(f"{expression!r} raised: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    async def screenshot(self, width: int = 1200, height: int = 1400, scale: float = 1) -> bytes:
        """A PNG of the page's top ``width`` x ``height`` CSS pixels, drawn at ``scale``."""
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        await self._call("Emulation.setDeviceMetricsOverride", metrics)
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": scale}
        answer = await self._call("Page.captureScreenshot", {"format": "png", "clip": clip})
        return base64.b64decode(answer["data"])

    def close(self) -> None:
        self._reader.cancel()


@contextlib.asynccontextmanager
async def open_page(binary: str, path: Path) -> AsyncIterator[Page]:
    """Start Chromium, load ``path`` (absolute) and yield the page once its load event fired."""
    url = path.as_uri()
    with tempfile.TemporaryDirectory(prefix="rerunorch-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            binary,
            *_FLAGS,
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            with anyio.fail_after(_TIMEOUT):
                endpoint = await _devtools_endpoint(process)
                async with aiohttp.ClientSession() as session:
                    page_ws = await _first_page(session, endpoint)
                    async with session.ws_connect(page_ws, max_msg_size=0) as ws:
                        page = await _load(ws, url)
                        try:
                            yield page
                        finally:
                            page.close()
        finally:
            if process.returncode is None:
                process.terminate()
            with contextlib.suppress(ProcessLookupError):
                await asyncio.wait_for(process.wait(), 10)


async def _devtools_endpoint(process: asyncio.subprocess.Process) -> str:
    """Chromium's own line "DevTools listening on ws://127.0.0.1:PORT/..." (no polling)."""
    assert process.stderr is not None
    seen = []
    async for raw in process.stderr:
        line = raw.decode(errors="replace").strip()
        seen.append(line)
        if line.startswith("DevTools listening on "):
            url = line.removeprefix("DevTools listening on ")
            host = url.split("/")[2]
            return f"http://{host}"
    raise RuntimeError("chromium ended before DevTools listened:\n" + "\n".join(seen[-20:]))


async def _first_page(session: aiohttp.ClientSession, endpoint: str) -> str:
    async with session.get(f"{endpoint}/json/list") as answer:
        targets = await answer.json()
    pages = [t for t in targets if t.get("type") == "page"]
    assert pages, targets
    return str(pages[0]["webSocketDebuggerUrl"])


async def _load(ws: aiohttp.ClientWebSocketResponse[bool], url: str) -> Page:
    ids = itertools.count(1)
    waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
    events: dict[str, asyncio.Event] = {"Page.loadEventFired": asyncio.Event()}
    errors: list[str] = []

    async def call(method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        number = next(ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        waiting[number] = future
        await ws.send_str(json.dumps({"id": number, "method": method, "params": params or {}}))
        return await future

    def heard(message: dict[str, Any]) -> None:
        if "id" in message:
            future = waiting.pop(message["id"])
            if "error" in message:
                future.set_exception(AssertionError(f"DevTools: {message['error']}"))
            else:
                future.set_result(message.get("result", {}))
            return
        method, params = message.get("method", ""), message.get("params", {})
        if method in events:
            events[method].set()
        error = _error_of(method, params)
        if error is not None:
            errors.append(error)

    async def read() -> None:
        async for frame in ws:
            if frame.type == aiohttp.WSMsgType.TEXT:
                heard(json.loads(frame.data))

    reader = asyncio.get_running_loop().create_task(read())
    for domain in ("Runtime", "Log", "Page"):
        await call(f"{domain}.enable")
    await call("Page.navigate", {"url": url})
    await events["Page.loadEventFired"].wait()
    await call("Runtime.evaluate", {"expression": "1"})  # a round trip: late events are in
    return Page(errors, call, reader)


def _error_of(method: str, params: dict[str, Any]) -> str | None:
    """The text of an error the page reported, or None."""
    if method == "Runtime.exceptionThrown":
        details = params.get("exceptionDetails", {})
        return f"exception: {details.get('exception', {}).get('description') or details}"
    if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
        texts = [str(arg.get("value", arg.get("description", ""))) for arg in params["args"]]
        return "console: " + " ".join(texts)
    if method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
        entry = params["entry"]
        return f"log ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}".strip()
    return None


def png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """``(width, height, rows)`` of an 8-bit RGB or RGBA PNG, each row its raw pixel bytes."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    position, chunks, header = 8, [], b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    if depth != 8 or color not in (2, 6):
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {color}")
    size = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * size
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        _unfilter(kind, line, previous, size)
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def _unfilter(kind: int, line: bytearray, up: bytearray, size: int) -> None:
    for i in range(len(line)):
        left = line[i - size] if i >= size else 0
        above = up[i]
        corner = up[i - size] if i >= size else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + above) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + above) // 2) & 0xFF
        elif kind == 4:
            p = left + above - corner
            pa, pb, pc = abs(p - left), abs(p - above), abs(p - corner)
            best = left if pa <= pb and pa <= pc else above if pb <= pc else corner
            line[i] = (line[i] + best) & 0xFF
