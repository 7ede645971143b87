"""The dashboard in a real browser: `workbench dashboard` serves `streamlit run` on a free port and
Python playwright drives Debian's chromium (ENVIRONMENT.md) through every page, moves sliders and
picks options, checks the key elements and that no exception box shows, and saves a screenshot
per page into a temporary folder (``WORKBENCH_SCREENSHOTS=DIR`` keeps them)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, requires

try:
    from playwright.sync_api import expect
except ImportError:  # the module is skipped below
    expect = None

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
# screenshots go to a temporary folder, or where WORKBENCH_SCREENSHOTS says (to keep them)
SHOTS = Path(os.environ.get("WORKBENCH_SCREENSHOTS") or tempfile.mkdtemp(prefix="workbench-screenshots-"))
WIDTH, HEIGHT = 1400, 1000

pytestmark = [
    requires(None if CHROMIUM.is_file() else "Debian chromium missing at /usr/bin/chromium"),
    requires(None if importlib.util.find_spec("playwright") else "Python playwright missing"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _serve(roots: dict, log: Path):
    """`workbench dashboard` on a free port over ``roots``; yields its URL."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "workbench", "dashboard", "--port", str(port),
           *(a for k in ("data", "runs", "reports") for a in (f"--{k}", str(roots[k])))]
    with log.open("w") as fh:
        # its own session, so the streamlit child is stopped with it (by this process group's id)
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read().strip() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the dashboard did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def server(dashboard_roots, tmp_path_factory):
    """The dashboard over the small hand-made roots."""
    with _serve(dashboard_roots, tmp_path_factory.mktemp("server") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def demo_server(demo_roots, tmp_path_factory):
    """The dashboard over the roots the demo's own code wrote."""
    with _serve(demo_roots, tmp_path_factory.mktemp("server") / "streamlit.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    pg = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
    yield pg
    pg.close()


def settle(page, *, timeout: float = 180.0, quiet: float = 1.0) -> None:
    """Wait until the app has rendered and its script has stopped running (the status widget has
    been gone for ``quiet`` seconds); fail on an exception box."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
    deadline, since = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        if page.locator('[data-testid="stStatusWidget"]').count():
            since = None
        elif since is None:
            since = time.monotonic()
        elif time.monotonic() - since > quiet:
            break
        time.sleep(0.2)
    else:
        pytest.fail(f"{page.url} still running after {timeout} s")
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


def open_page(page, url: str, path: str, title: str) -> None:
    page.goto(f"{url}/{path}")
    page.get_by_role("heading", name=title, level=1).wait_for(timeout=120_000)
    settle(page)


def screenshot(page, name: str) -> Path:
    """The whole page: Streamlit scrolls inside its main block, so the viewport grows to fit it."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    h = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": WIDTH, "height": max(HEIGHT, min(int(h) + 40, 8000))})
    settle(page)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    assert path.stat().st_size > 20_000
    return path


def widget(page, testid: str, label: str):
    return page.locator(f'[data-testid="{testid}"]').filter(has=page.get_by_text(label, exact=True))


def choose(page, label: str, option: str) -> None:
    """Pick ``option`` in the selectbox labelled ``label`` (a combobox: ArrowDown opens its list,
    as for a keyboard user; a mouse press on the page while it scrolls can be dropped)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    box = widget(page, "stSelectbox", label).get_by_role("combobox")
    for _ in range(3):  # a rerun finishing at that moment can close the list again
        box.scroll_into_view_if_needed()
        box.focus()
        page.keyboard.press("ArrowDown")
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=5000)
            break
        except PlaywrightTimeout:
            settle(page)
    settle(page)
    expect(box).to_have_value(option)


def test_compare_page(page, server):
    open_page(page, server, "", "Compare methods")
    expect(widget(page, "stSelectbox", "Demo file").get_by_role("combobox")).to_have_value("trumpet: melody_000.wav")
    excerpt = widget(page, "stSlider", "Excerpt (s)").locator('input[type="range"]')
    assert excerpt.count() == 2  # start and end
    end = excerpt.nth(1)
    before = float(end.input_value())
    end.focus()
    for _ in range(12):  # 3 s shorter, by keyboard as a user would
        page.keyboard.press("ArrowLeft")
    settle(page)
    expect(end).to_have_value(f"{before - 3.0:g}")
    page.get_by_role("button", name="Render").click()
    expect(page.locator('[data-testid="stMetric"]')).to_have_count(12, timeout=240_000)
    settle(page, timeout=240)
    text = page.locator('[data-testid="stMain"]').inner_text()
    for label in ("Pitch kept (notes)", "Loudness correlation", "Target-timbre accuracy", "Timbre gap closed",
                  "Real-time factor"):
        assert text.count(label) == 2, label
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(6)  # two spectrograms and an f0 plot each
    expect(page.locator('[data-testid="stAudio"]')).to_have_count(3)  # the input and both outputs
    screenshot(page, "1_compare")


def test_compare_page_upload(page, server):
    import io

    import numpy as np
    import soundfile as sf

    open_page(page, server, "", "Compare methods")
    widget(page, "stRadio", "Input").get_by_text("upload", exact=True).click()
    settle(page)
    uploader = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    uploader.set_input_files({"name": "bad.wav", "mimeType": "audio/wav", "buffer": b"not a wave file" * 40})
    settle(page)
    alert = page.locator('[data-testid="stAlertContentError"]')
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("upload 'bad.wav' could not be read as audio")
    buf = io.BytesIO()
    sf.write(buf, 0.3 * np.sin(2 * np.pi * 220 * np.arange(24000) / 16000), 16000, format="WAV")
    uploader.set_input_files({"name": "tone.wav", "mimeType": "audio/wav", "buffer": buf.getvalue()})
    settle(page)
    expect(alert).to_have_count(0)
    expect(page.get_by_text("upload: tone.wav", exact=False)).to_be_visible()
    screenshot(page, "1_compare_upload")


def test_pitch_page(page, server):
    open_page(page, server, "pitch", "Pitch evaluation")
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(2)  # the scoreboard's bars, the note's f0
    # the scoreboard and the notes (the per-class table waits in a closed expander)
    expect(page.locator('[data-testid="stDataFrame"]').filter(visible=True)).to_have_count(2)
    choose(page, "Method", "cepstral")
    choose(page, "Chart", "real-time factor")
    expect(page.get_by_text(re.compile(r"^3 notes, [0-3] lost\.$"))).to_be_visible()  # one melody of 3 notes
    pad = widget(page, "stSlider", "Context around the note (s)").locator('input[type="range"]')
    pad.focus()
    page.keyboard.press("ArrowRight")
    settle(page)
    expect(pad).to_have_value("1.25")
    expect(page.locator('[data-testid="stPlotlyChart"]')).to_have_count(2)
    expect(page.locator('[data-testid="stAudio"]')).to_have_count(2)  # input and output of the note's melody
    screenshot(page, "2_pitch")


# the screen position and note of the map's most isolated point, so a click picks exactly that one
CLICK_POINT = """() => { const gd = document.querySelector('.js-plotly-plot'); const fl = gd._fullLayout;
  const tr = gd._fullData[0]; const r = gd.getBoundingClientRect();
  const px = Array.from(tr.x, (v, i) => [r.left + fl._size.l + fl.xaxis.l2p(v), r.top + fl._size.t + fl.yaxis.l2p(tr.y[i])]);
  let best = 0, far = -1;
  px.forEach((p, i) => { const d = Math.min(...px.map((q, j) => j === i ? Infinity : Math.hypot(p[0] - q[0], p[1] - q[1])));
                         if (d > far) { far = d; best = i; } });
  return [px[best][0], px[best][1], tr.customdata[best][0]]; }"""


def test_embeddings_page(page, server):
    open_page(page, server, "embeddings", "Embeddings")
    page.locator(".js-plotly-plot").wait_for()
    widget(page, "stRadio", "Colour by").get_by_text("pitch", exact=True).click()
    settle(page)
    x, y, note = page.evaluate(CLICK_POINT)
    page.mouse.click(x, y)
    settle(page)
    expect(page.locator('[data-testid="stCaptionContainer"]').filter(has_text=f"{note}.wav")).to_have_count(1)
    expect(page.locator('[data-testid="stAudio"]')).to_have_count(1)
    widget(page, "stRadio", "Method").get_by_text("t-SNE 3-D", exact=True).click()
    settle(page)
    expect(page.locator(".js-plotly-plot .gl-container").first).to_be_attached()  # the 3-D scene
    screenshot(page, "3_embeddings")


def test_latent_page_empty_state(page, server):
    open_page(page, server, "latent", "Latent mixing")
    expect(page.get_by_text("No multi-instrument model yet", exact=False)).to_be_visible()
    expect(page.locator('[data-testid="stCode"]').filter(has_text="model.condition=onehot")).to_have_count(1)
    screenshot(page, "4_latent")


def test_runs_page(page, server):
    open_page(page, server, "runs", "Runs and probes")
    expect(page.locator(".js-plotly-plot").filter(visible=True)).to_have_count(1)  # the loss curve
    page.get_by_role("tab", name="Probes").click()
    choose(page, "Confusion matrix (test split)", "mfcc_logreg")
    expect(page.locator('[data-testid="stDataFrame"]').filter(visible=True)).to_have_count(1)  # the probe table
    page.get_by_role("tab", name="Pitch CNN").click()
    settle(page)
    expect(page.get_by_text("Within a semitone").first).to_be_visible()
    page.get_by_role("tab", name="Probes").click()
    settle(page)
    screenshot(page, "5_runs")


@pytest.mark.parametrize("path,title,content", [
    ("", "Compare methods", '[data-testid="stAudio"]'),
    ("pitch", "Pitch evaluation", '[data-testid="stDataFrame"]'),
    ("embeddings", "Embeddings", ".js-plotly-plot"),
    ("latent", "Latent mixing", '[data-testid="stAudio"]'),
    ("runs", "Runs and probes", ".js-plotly-plot"),
])
def test_every_page_has_content_after_the_demo(page, demo_server, path, title, content):
    open_page(page, demo_server, path, title)
    empty = page.locator('[data-testid="stAlertContentInfo"]').filter(has_text="Create it with").filter(visible=True)
    assert empty.count() == 0, empty.first.inner_text()
    expect(page.locator(content).filter(visible=True).first).to_be_visible()
    if path in ("", "latent"):  # the demo's models render (the latent page: its multi-instrument model)
        expect(page.get_by_role("button", name="Render")).to_be_enabled()


# Every tab after `make demo`: what it shows, or, for what the demo does not make, the command that
# makes it. A tab that is not open is hidden, so each is clicked before it is looked at.
DEMO_TABS = [
    ("latent", "Latent mixing", "Mix", '[data-testid="stAudio"]', None),
    ("latent", "Latent mixing", "Synth", None, "workbench train"),
    ("runs", "Runs and probes", "Training runs", ".js-plotly-plot", None),
    ("runs", "Runs and probes", "Probes", '[data-testid="stDataFrame"]', None),
    ("runs", "Runs and probes", "Pitch CNN", None, "workbench pitchcnn"),
    ("runs", "Runs and probes", "Chroma mesh", None, "workbench mesh"),
]


@pytest.mark.parametrize("path,title,tab,content,command", DEMO_TABS, ids=[f"{p}-{t}" for p, _, t, _, _ in DEMO_TABS])
def test_every_tab_shows_content_or_the_command_after_the_demo(page, demo_server, path, title, tab, content,
                                                                command):
    open_page(page, demo_server, path, title)
    page.get_by_role("tab", name=tab).click()
    settle(page)
    panel = page.locator('[role="tabpanel"]').filter(visible=True)
    empty = panel.locator('[data-testid="stAlertContentInfo"]').filter(has_text="Create it with")
    if content is not None:
        assert empty.count() == 0, empty.first.inner_text()
        expect(panel.locator(content).first).to_be_visible()
    else:
        expect(empty.first).to_be_visible()
        expect(panel.locator('[data-testid="stCode"]').filter(has_text=command).first).to_be_visible()


@pytest.fixture(scope="module")
def training_server(tmp_path_factory):
    """The dashboard over empty roots: the Training page fills its runs folder."""
    root = tmp_path_factory.mktemp("training")
    roots = {k: root / k for k in ("data", "runs", "reports")}
    for d in roots.values():
        d.mkdir()
    from analysis import training_job as tj

    try:
        with _serve(roots, root / "streamlit.log") as url:
            yield url, roots
    finally:  # a training the page started runs in its own session: end it with the test
        for run in roots["runs"].iterdir():
            tj.stop_training(run, now=True)


def test_training_page(page, training_server, trumpet_melodies):
    """Issue 26: a folder typed in, the doctor's report, a tiny training started in the background,
    its curves growing live on the Runs tab until it ends, and the phrase of each scorecard."""
    from tests.conftest import TINY_MODEL

    url, roots = training_server
    open_page(page, url, "training", "Training")
    expect(page.locator('[data-testid="stAlertContentWarning"]')).to_contain_text("Enter the path of a folder")
    box = widget(page, "stTextInput", "Folder of your material (or one audio file)").locator("input")
    box.fill(str(trumpet_melodies / "nowhere"))
    box.press("Enter")
    settle(page)
    expect(page.locator('[data-testid="stAlertContentError"]')).to_contain_text("does not exist")
    box.fill(str(trumpet_melodies))
    box.press("Enter")
    settle(page, timeout=120)
    expect(page.get_by_text("Verdict:", exact=False)).to_be_visible()
    expect(page.get_by_text("Training time on this machine", exact=False)).to_be_visible()
    for label, value in (("Epochs (at most)", "2"), ("Scorecard every (epochs)", "1")):
        field = widget(page, "stNumberInput", label).locator("input")
        field.fill(value)
        field.press("Enter")
        settle(page)
    settings = page.locator('[data-testid="stTextArea"] textarea')  # the only one (its label renders `--set` as code)
    settings.fill("\n".join([*TINY_MODEL, "train.valid_fraction=0.34"]))
    settings.press("Control+Enter")
    settle(page)
    page.get_by_role("button", name="Start training").click()
    settle(page)
    expect(page.locator('[data-testid="stAlertContentSuccess"]')).to_contain_text("Started in the background")
    screenshot(page, "6_training_started")
    page.get_by_role("tab", name="Runs", exact=True).click()
    panel = page.locator('[role="tabpanel"]').filter(visible=True)
    expect(panel.locator('[data-testid="stProgress"]')).to_be_visible()
    # the fragment redraws every 2 s: the loss curve, then the scorecard's, appear without a click
    expect(panel.locator(".js-plotly-plot")).to_have_count(2, timeout=150_000)
    expect(panel.get_by_text("finished: stopped by epochs")).to_be_visible(timeout=150_000)
    settle(page)
    expect(panel.locator('[data-testid="stMetricValue"]').first).to_have_text("2 / 2")
    expect(panel.locator('[data-testid="stAudio"]')).to_have_count(2)  # the phrase, and through epoch 1's weights
    screenshot(page, "6_training_runs")
    assert (roots["runs"] / f"{trumpet_melodies.name}-autoencoder" / "scorecard.csv").is_file()
