"""The hw3 handout in a real browser: typeset math, decoded plots, a non-blank page.

Generates hw3-optimizers for two students with the real command line, then opens
the HTML in headless Chromium: a screenshot must show ink and the per-variant
training-curve plot, and the DOM (after the page's load event) must hold laid-out
<math> elements, images that decoded, and no LaTeX left as raw text.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import run_cli, write_roster

HW = "hw3-optimizers"
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WINDOW = (1200, 3000)

# Written into the page after it loads, so --dump-dom reports what the browser made of it.
PROBE = """<script>
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const maths = [...document.querySelectorAll('math')];
  const probe = document.createElement('pre');
  probe.id = 'probe';
  probe.textContent = JSON.stringify({
    images: imgs.length,
    decoded: imgs.filter(i => i.complete && i.naturalWidth > 0).length,
    math: maths.length,
    laid_out: maths.filter(m => m.getBoundingClientRect().width > 0).length,
    raw_tex: (document.body.innerText.match(/\\\\(frac|sigma|hat|partial|eta|beta|left|right)\\b|\\$/g) || []).slice(0, 5),
    choices: [...document.querySelectorAll('code.choice')].map(c => ({
      section: (c.closest('section') || {}).id || null,
      text: c.textContent,
      shown: c.getBoundingClientRect().width > 0 && getComputedStyle(c).visibility === 'visible',
    })),
  });
  document.body.appendChild(probe);
});
</script></body>"""

# Moves the first plot to the top of the page, so the screenshot's window shows it.
PLOT_FIRST = "<script>document.body.prepend(document.images[0]);</script></body>"


def chromium(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess:
    if not CHROMIUM.exists():
        pytest.skip("headless chromium is not installed at /usr/bin/chromium (the project's set-up installs it)")
    profile = tmp_path / f"profile{len(list(tmp_path.glob('profile*')))}"
    return subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args],
                          capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hw3course")
    roster = write_roster(root.parent / "hw3-roster.csv", ["alice", "bob"])
    run_cli("generate", HW, "--course", root, "--roster", roster, check=True)
    return root


def with_script(page: Path, script: str, out: Path) -> Path:
    out.write_text(page.read_text().replace("</body>", script))
    return out


def probe(page: Path, tmp_path: Path) -> dict:
    dom = chromium(["--dump-dom", with_script(page, PROBE, tmp_path / "probed.html").as_uri()], tmp_path).stdout
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom, re.S)
    assert found, "the probe script did not run"
    return json.loads(html.unescape(found.group(1)))


def screenshot(page: Path, tmp_path: Path, name: str) -> np.ndarray:
    import matplotlib.image

    shot = tmp_path / name
    chromium([f"--screenshot={shot}", f"--window-size={WINDOW[0]},{WINDOW[1]}", page.as_uri()], tmp_path)
    pixels = matplotlib.image.imread(shot)[..., :3]
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    return pixels


def near(pixels: np.ndarray, rgb: int) -> int:
    """How many pixels are within 5% of the colour 0xRRGGBB (nothing but the plot has these colours)."""
    want = np.array([(rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255]) / 255
    return int((np.abs(pixels - want).max(axis=2) < 0.05).sum())


@pytest.mark.slow
@pytest.mark.parametrize("student", ["alice", "bob"])
def test_student_handout_has_typeset_math_and_its_plot(course, tmp_path, student):
    page = course / "release" / HW / student / "handout.html"
    found = probe(page, tmp_path)
    assert found["math"] >= 50 and found["laid_out"] == found["math"], found
    assert found["images"] == 1 and found["decoded"] == 1, found  # the training curves, the only student plot
    assert found["raw_tex"] == [], f"LaTeX left as text: {found['raw_tex']}"

    pixels = screenshot(page, tmp_path, "page.png")
    ink = (pixels.min(axis=2) < 0.9).mean()
    assert ink > 0.02, f"the screenshot is nearly blank ({ink:.1%} ink)"
    assert near(pixels, 0x1F77B4) < 20, "the plot colours are not unique to the plot"

    pixels = screenshot(with_script(page, PLOT_FIRST, tmp_path / "plot_first.html"), tmp_path, "plot.png")
    for name, rgb in [("training loss", 0x1F77B4), ("validation loss", 0xFF7F0E)]:
        assert near(pixels, rgb) > 150, f"the {name} curve is not on the screen"


@pytest.mark.slow
def test_handout_shows_the_options_of_choice_answers(course, tmp_path):
    """Every option of every choice answer in the student's key is on the page, laid out, in its
    problem's section (the notebook lists them too; a student copies one)."""
    key = json.loads((course / ".backproplab" / "keys" / HW / "alice.json").read_text())
    want = {(p["key"], repr(c)) for p in key["problems"] for a in p["answers"] if a["kind"] == "choice"
            for c in a["choices"]}
    assert want, "hw3 has choice answers"
    found = probe(course / "release" / HW / "alice" / "handout.html", tmp_path)
    shown = {(c["section"], c["text"]) for c in found["choices"] if c["shown"]}
    assert want <= shown, sorted(want - shown)


@pytest.mark.slow
def test_answer_key_shows_the_worked_plots(course, tmp_path):
    page = next((course / ".backproplab" / "keys" / HW).glob("*.html"))
    found = probe(page, tmp_path)
    # overshooting and local_minimum draw the descent path; the training curves come along.
    assert found["images"] >= 3 and found["decoded"] == found["images"], found
    assert found["math"] > 0 and found["laid_out"] == found["math"], found
    assert found["raw_tex"] == [], f"LaTeX left as text: {found['raw_tex']}"
