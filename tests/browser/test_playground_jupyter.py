"""The kernel playground in JupyterLab, with a live kernel: the same widget as in the book, and what
the browser computes comes back to Python (`output`, `output_shape`) equal to the reference."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.browser.conftest import ROOT, screenshot

pytestmark = pytest.mark.browser

CELLS = [
    "from cnnbook.widgets.playground import KernelPlayground\n"
    "w = KernelPlayground(photo='coins', preset='Gaussian', size=32)\nw",
    "import numpy as np\n"
    "print('SHAPE', w.stride, w.output_shape, 'ERR', float(np.abs(w.output_array - w.expected_output()).max()))",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def jupyter_lab(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lab")
    notebook = {"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                           "source": source} for source in CELLS],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (folder / "play.ipynb").write_text(json.dumps(notebook))
    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, PYTHONPATH=str(ROOT), JUPYTER_CONFIG_DIR=str(folder / ".config"))
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={port}",
         "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={folder}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
            break
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                server.kill()
                pytest.fail("JupyterLab did not start")
            time.sleep(1)
    yield url, token
    server.terminate()
    server.wait(timeout=30)


def run_cell(page, index: int) -> None:
    cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.locator(".jp-InputArea-prompt").click()
    page.keyboard.press("Shift+Enter")


def test_playground_syncs_its_output_back_to_python(browser, jupyter_lab):
    url, token = jupyter_lab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    # JupyterLab may try to reach the internet (extensions, news): never let it.
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith((url, "blob:", "data:"))
               else route.abort())
    try:
        page.goto(f"{url}/lab/tree/play.ipynb?token={token}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=90_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=90_000)  # the kernel is up
        run_cell(page, 0)
        page.wait_for_selector(".cnnpg canvas[data-panel='output']", timeout=90_000)
        # the reader moves the stride slider; the browser recomputes and syncs to the kernel
        page.locator("[data-control='stride']").fill("2")
        page.wait_for_function("() => document.querySelector('.cnnpg').playground.shape[0] === 15")
        run_cell(page, 1)
        output = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea-output")
        output.wait_for(timeout=60_000)
        text = output.inner_text()
        assert "SHAPE 2 [15, 15] ERR" in text, text
        assert float(text.split("ERR")[1]) < 1e-12, text
    finally:
        screenshot(page, "playground-jupyterlab")
        context.close()
