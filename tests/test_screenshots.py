"""One handout and one answer key of every built-in assignment, looked at in headless Chromium.

The pages are rendered for one student, with every plot, and shot at 100% zoom: the top of each
page, and a gallery of its plots (the figures moved to the top of the page, at their own size).
What the pictures must show is checked on the plots themselves:
- no two labels next to points overlap (their text boxes, as matplotlib lays them out), and
  every label lies inside the figure;
- legends and tick labels are at least render.plots.MIN_FONT_SIZE and the legend fits in the figure.

Set BACKPROPLAB_SCREENSHOTS to a folder to keep the PNGs (to look at them); else they go to a
temporary folder.
"""

from __future__ import annotations

import itertools
import os
import subprocess
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from backproplab import assignment
from backproplab.course.variants import student_items
from backproplab.render import plots
from backproplab.render.html import pages

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
WIDTH = 1200
# Moves every figure to the top of the page, in order, so one window shows them at 100%.
GALLERY = ("<script>const g = document.createElement('div');"
           "[...document.querySelectorAll('figure')].forEach(f => g.appendChild(f));"
           "document.body.prepend(g);</script></body>")


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    kept = os.environ.get("BACKPROPLAB_SCREENSHOTS")
    folder = Path(kept) if kept else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chromium_shot(page: Path, png: Path, height: int, profile: Path) -> np.ndarray:
    if not CHROMIUM.exists():
        pytest.skip("headless chromium is not installed at /usr/bin/chromium (the project's set-up installs it)")
    subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000",
                    f"--screenshot={png}", f"--window-size={WIDTH},{height}", page.as_uri()],
                   capture_output=True, text=True, timeout=180, check=False)
    assert png.exists(), f"chromium wrote no screenshot of {page.name}"
    return matplotlib.image.imread(png)[..., :3]


@pytest.mark.slow
@pytest.mark.parametrize("name", assignment.available())
def test_handout_and_key_render_with_readable_plots(name, shots, tmp_path):
    hw = assignment.load(name)
    items = student_items(hw, b"screenshot-secret", "alice")
    handout, key = pages(hw, "alice", items)
    all_plots = [p for it in items for p, _ in it.images]
    for plot in all_plots:
        layout = plots.text_layout(plot)
        for a, b in itertools.combinations(layout.notes, 2):
            assert not a.overlaps(b), f"{name}: labels overlap in '{plot.caption}'"
        inside = layout.notes + ([layout.legend] if layout.legend is not None else [])
        for box in inside:
            assert (layout.figure.x0 <= box.x0 and box.x1 <= layout.figure.x1 and layout.figure.y0 <= box.y0
                    and box.y1 <= layout.figure.y1), f"{name}: text outside the figure in '{plot.caption}'"
        assert min(layout.font_sizes) >= plots.MIN_FONT_SIZE, f"{name}: text smaller than the minimum in '{plot.caption}'"
    for which, text in (("handout", handout), ("key", key)):
        page = tmp_path / f"{which}.html"
        page.write_text(text)
        top = chromium_shot(page, shots / f"{name}-{which}.png", 1600, tmp_path / f"profile-{which}")
        assert (top.min(axis=2) < 0.9).mean() > 0.02, f"the {which} of {name} is nearly blank"
        shown = [p for it in items for p, _ in it.images if which == "key" or p.audience == "student"]
        if shown:
            gallery = tmp_path / f"{which}-plots.html"
            gallery.write_text(text.replace("</body>", GALLERY))
            pixels = chromium_shot(gallery, shots / f"{name}-{which}-plots.png", 400 * len(shown),
                                   tmp_path / f"profile-{which}-plots")
            assert (pixels.min(axis=2) < 0.9).mean() > 0.01, f"the plots of the {which} of {name} did not show"
