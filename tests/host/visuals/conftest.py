"""Real git repositories in tmp_path and a tiny web page served on loopback."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.gitrepo import repo as repo  # the fixture

PAGE = """<!doctype html>
<html><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { color-scheme: light dark; }
  body { margin: 0; background: #ffffff; color: #111111; font: 20px sans-serif; }
  @media (prefers-color-scheme: dark) { body { background: #101418; color: #eeeeee; } }
  h1 { padding: 24px; margin: 0; }
  #panel { display: none; background: #ff0000; height: 300px; }
  body.open #panel { display: block; }
  .tall { height: 2500px; background: linear-gradient(#ffffff, #3366ff); }
</style></head>
<body>
  <h1>Hello cockpit</h1>
  <button id="toggle" onclick="document.body.classList.toggle('open')">Show panel</button>
  <input id="name" placeholder="Your name"
         oninput="document.getElementById('echo').textContent = this.value">
  <p id="echo" style="font-size: 60px"></p>
  <div id="panel"></div>
  <div class="tall"></div>
</body></html>
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def page_url(tmp_path: Path) -> Iterator[str]:
    """URL of a test page on 127.0.0.1 (dark/light CSS, a toggle, an input, a tall part)."""
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text(PAGE, encoding="utf-8")
    handler = partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
