"""The HTML decision report, opened in headless Chromium: its sections are there and its figures render."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

from pytyche_core.report import write_report
from tests.core.report.stored_experiment import materialize_rounds

pytestmark = pytest.mark.slow

SECTION_TITLES = ("Did it work?", "By how much?", "How confident are we?", "What is the risk of shipping?",
                  "Conversion or order value?", "The guardrail", "Where does it differ?",
                  "Which segments can we act on?", "Each segment as SQL", "What to test next")

#: After the load event, record on <body> how many images there are and how many decoded from data URIs.
_PROBE = ("<script>addEventListener('load', () => { const all = [...document.images]; "
          "const ok = all.filter(i => i.complete && i.naturalWidth > 0 && i.src.startsWith('data:image/png;base64,'));"
          " document.body.dataset.images = all.length + '/' + ok.length; });</script>")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    stored = materialize_rounds(tmp_path_factory.mktemp("store"), rounds=2)
    return write_report(stored.store_path, stored.experiment_id, tmp_path_factory.mktemp("report") / "report.html")


def test_chromium_shows_every_section_and_embedded_images(browser, report):
    dom = browser.dump_dom(report.as_uri())
    headings = [re.sub(r"<[^>]+>", "", h) for h in re.findall(r"<h2>(.*?)</h2>", dom)]
    for title in SECTION_TITLES:
        assert title in headings
    sources = re.findall(r"<img [^>]*src=\"([^\"]{0,40})", dom)
    assert len(sources) == 5 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "CAST(" in dom  # the segments' SQL made it to the page


def test_every_figure_decodes_in_the_browser(browser, report, tmp_path):
    probed = tmp_path / "probed.html"
    probed.write_text(report.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    dom = browser.dump_dom(probed.as_uri())
    assert 'data-images="5/5"' in dom, re.findall(r"data-images=\"[^\"]*\"", dom)


def test_a_screenshot_of_the_report_shows_text_and_a_figure(browser, report, tmp_path):
    shot = browser.screenshot(report.as_uri(), tmp_path / "report.png", height=4000)
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert (pixels.min(axis=2) < 200).mean() > 0.01, "the page is blank"
    # matplotlib's first colour (#1f77b4) appears only in the figures: the lift histogram is drawn.
    blue = (np.abs(pixels - np.array([31, 119, 180])).max(axis=2) < 40).sum()
    assert blue > 200, f"no figure colour on the page ({blue} pixels)"
