"""report.html: one self-contained page per search, read with an HTML parser and in chromium."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tuning.reports.page import write_page

from helpers import read_csv

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SECTIONS = ["Best model", "The search", "Test results", "Plots", "All trials", "Settings"]


class Page(HTMLParser):
    """The headings, tables (rows of cell texts), images and links of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.headings: list[str] = []
        self.tables: list[list[list[str]]] = []
        self.images: list[str] = []
        self.external: list[str] = []
        self.text: list[str] = []
        self.open: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("th", "td", "h1", "h2"):
            self.open, self.text = tag, []
        elif tag == "img":
            self.images.append(attrs["src"])
        for name in ("src", "href"):
            if attrs.get(name) and not attrs[name].startswith("data:"):
                self.external.append(attrs[name])

    def handle_data(self, data: str) -> None:
        if self.open:
            self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag != self.open:
            return
        text, self.open = "".join(self.text).strip(), None
        if tag in ("th", "td"):
            self.tables[-1][-1].append(text)
        elif tag == "h2":
            self.headings.append(text)


def column(table: list[list[str]], name: str) -> list[str]:
    """One column of a parsed table, header row excluded."""
    index = table[0].index(name)
    return [row[index] for row in table[1:]]


def images_of(results: Path, names: list[str]) -> list[str]:
    return [
        f"data:image/png;base64,{base64.b64encode((results / n).read_bytes()).decode()}"
        for n in names
    ]


def test_search_writes_a_page_with_its_tables_and_plots(tiny_search, data_dir):
    text = (tiny_search / "report.html").read_text()
    page = Page(text)
    assert page.headings == SECTIONS
    assert "status: finished" in text  # written again once run.json has the run's end
    tested, trials = (
        read_csv(tiny_search / "test_results.csv"),
        read_csv(tiny_search / "trials.csv"),
    )
    test_table, trials_table = page.tables
    assert test_table[0] == list(tested.columns) and len(test_table) == len(tested) + 1
    assert column(test_table, "trial_id") == list(tested.trial_id)
    assert column(trials_table, "trial_id") == list(trials.trial_id)
    assert column(trials_table, "status") == list(trials.status)
    best = tested.iloc[0]
    assert f"Trial {best.trial_id}: val_accuracy {best.val_accuracy:.4f}" in text
    assert f"{100 * best.test_accuracy:.2f}%" in text
    plots = ["best_so_far.png", "hyperparameters.png", "learning_curves.png"]
    assert page.images == images_of(tiny_search, plots)
    assert all(base64.b64decode(src.split(",", 1)[1]).startswith(PNG_MAGIC) for src in page.images)
    # Self-contained and publishable: nothing fetched, no path of this machine.
    assert page.external == [] and "<link" not in text
    assert str(tiny_search) not in text and str(data_dir.resolve()) not in text


def test_page_shows_ablation_and_confirm_when_they_ran(search_copy):
    (search_copy / "confirm.csv").write_text(
        "seed,val_accuracy,test_accuracy\n7,0.9,0.91\n8,0.8,0.81\n"
    )
    (search_copy / "confirm_summary.csv").write_text("metric,runs,mean\ntest_accuracy,2,0.86\n")
    (search_copy / "ablation.csv").write_text("variant,val_accuracy\nbest,0.9\nno_dropout,0.8\n")
    shutil.copy(search_copy / "best_so_far.png", search_copy / "ablation.png")
    page = Page(write_page(search_copy).read_text())
    assert page.headings == [*SECTIONS[:3], "Confirmed with other seeds", "Ablation", *SECTIONS[3:]]
    assert [row[0] for row in page.tables[1]] == ["metric", "test_accuracy"]
    assert column(page.tables[2], "seed") == ["7", "8"]
    assert column(page.tables[3], "variant") == ["best", "no_dropout"]
    assert page.images[0] == images_of(search_copy, ["ablation.png"])[0]


def test_page_without_finished_trials_says_so(tmp_path):
    (tmp_path / "trials.csv").write_text("trial_id,status,val_accuracy,epochs\n00,FAILED,,1\n")
    page = Page(write_page(tmp_path).read_text())
    assert page.headings == ["Best model", "The search", "All trials", "Settings"]
    assert "No trial has finished yet." in (tmp_path / "report.html").read_text()
    assert column(page.tables[0], "trial_id") == ["00"]  # as written, not the number 0


# Appended to a copy of the page: after load, the browser reports what it drew and sorts.
PROBE = """<script>
window.addEventListener("load", () => {
  const tables = Array.from(document.querySelectorAll("table"));
  const trials = tables[tables.length - 1];
  const header = Array.from(trials.querySelectorAll("th"))
    .find(th => th.textContent === "val_accuracy");
  const index = Array.from(header.parentNode.children).indexOf(header);
  header.click();
  const sorted = Array.from(trials.tBodies[0].rows).map(r => r.cells[index].textContent);
  const probe = document.createElement("pre");
  probe.id = "probe";
  probe.textContent = JSON.stringify({
    images: Array.from(document.images).map(i => [i.naturalWidth, i.getBoundingClientRect().width]),
    tables: tables.map(t => [t.rows.length, t.getBoundingClientRect().height]),
    sorted: sorted,
  });
  document.body.appendChild(probe);
});
</script>"""


def browser() -> str:
    """Debian's chromium; CI installs it, so there (TUNING_REQUIRE_BROWSER=1) it must be found."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("TUNING_REQUIRE_BROWSER") == "1":
            pytest.fail("chromium is not installed: .ci/run installs it with apt-get")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return found


@pytest.mark.browser
def test_page_renders_in_a_headless_browser(tiny_search, tmp_path):
    copy = tmp_path / "report.html"
    copy.write_text((tiny_search / "report.html").read_text().replace("</body>", PROBE + "</body>"))
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,900"]
    dom = subprocess.run(
        [browser(), *flags, "--virtual-time-budget=5000", "--dump-dom", copy.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    probe = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', dom, re.DOTALL).group(1))
    assert len(probe["images"]) == 3
    assert all(natural > 0 and shown > 0 for natural, shown in probe["images"])  # decoded, drawn
    tested, trials = (
        read_csv(tiny_search / "test_results.csv"),
        read_csv(tiny_search / "trials.csv"),
    )
    assert [rows for rows, _ in probe["tables"]] == [len(tested) + 1, len(trials) + 1]
    assert all(height > 0 for _, height in probe["tables"])
    assert probe["sorted"] == [f"{v:.6g}" for v in sorted(trials.val_accuracy)]
    shot = tmp_path / "shot.png"
    subprocess.run(
        [browser(), *flags, f"--screenshot={shot}", (tiny_search / "report.html").as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.read_bytes().startswith(PNG_MAGIC)
