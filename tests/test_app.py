"""AppTest runs of every page on a tiny bundle: picks, sliders, paths, samples and every export."""

from __future__ import annotations

import csv
import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from explorer import export
from explorer.bundle import load_bundle
from tests.live_app import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture
def media(monkeypatch):
    """Every file the app hands to the browser (images, video, downloads), by media id."""
    files: dict[str, tuple[bytes, str, str | None]] = {}
    real = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        file_id = real(self, path_or_data, mimetype, kind, filename)
        data = path_or_data if isinstance(path_or_data, bytes) else open(path_or_data, "rb").read()
        files[file_id] = (data, mimetype, filename)
        return file_id

    real_deferred = MediaFileManager.add_deferred

    def record_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kw):
        file_id = real_deferred(self, data_callable, mimetype, coordinates, file_name, **kw)
        files[file_id] = (data_callable, mimetype, file_name)  # made when the user clicks
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    monkeypatch.setattr(MediaFileManager, "add_deferred", record_deferred)
    return files


def fetch(media, url: str) -> tuple[bytes, str, str | None]:
    return media[url.rsplit("/", 1)[-1].split(".")[0]]


def image_captions(at) -> list[str]:
    return [img.caption for el in at.get("image") for img in el.proto.imgs]


def download(at, media, label: str):
    for el in at.get("download_button"):
        if el.proto.label == label:
            if el.proto.HasField("deferred_file_id"):
                make, mime, name = media[el.proto.deferred_file_id]
                data = make()
                return (data.encode() if isinstance(data, str) else data), mime, name
            return fetch(media, el.proto.url)
    raise AssertionError(f"no download button {label!r}; have {[e.proto.label for e in at.get('download_button')]}")


def app_on_tiny_bundle(tiny_bundle, tmp_path, monkeypatch) -> AppTest:
    """The app, not yet run, on a models folder that holds a copy of the tiny bundle named "tiny"."""
    models = tmp_path / "models"
    models.mkdir()
    shutil.copytree(tiny_bundle, models / "tiny")
    monkeypatch.setenv("LATENT_EXPLORER_MODELS", str(models))
    return AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)


@pytest.fixture
def app(tiny_bundle, tmp_path, monkeypatch):
    at = app_on_tiny_bundle(tiny_bundle, tmp_path, monkeypatch)
    at.run()
    assert not at.exception, at.exception
    return at


def test_map_page_computes_the_map_on_request_and_shows_a_pick(app, media, tiny_bundle):
    at = app
    assert any("has not been computed yet" in i.value for i in at.info)
    at.button(key="compute_map").click().run()
    assert not at.exception, at.exception
    assert at.get("plotly_chart"), "the map is drawn once computed"
    b = load_bundle(tiny_bundle)
    at.session_state["picked"] = 7
    at.run()
    assert not at.exception, at.exception
    assert any(h.value == b.ids[7] for h in at.subheader)
    captions = image_captions(at)
    assert "original" in captions and "reconstruction (decoded mean code)" in captions
    # the sliders start at the picked image's code
    for s in at.slider:
        if s.key and s.key.startswith("z_"):
            assert s.value == pytest.approx(float(b.mu[7, int(s.key[2:])]), abs=2e-3)
    # export: the map data has a row per image with its class and code
    data, mime, name = download(at, media, "Map data (CSV)")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert len(rows) == len(b.mu) and "map_x" in rows[0] and "z3" in rows[0]
    assert name.startswith("tiny_tsne") and name.endswith(".csv")
    png, _, _ = download(at, media, "Download images (PNG)")
    assert Image.open(io.BytesIO(png)).info["image"] == b.ids[7]


def test_moving_a_slider_changes_the_decoded_image(app, media, tiny_bundle):
    at = app
    at.sidebar.selectbox(key="method").set_value("pca").run()
    slider = next(s for s in at.slider if s.key == "z_0")
    before = download(at, media, "PNG")[0]
    slider.set_value(slider.max).run()
    assert not at.exception, at.exception
    after_png, _, _ = download(at, media, "PNG")
    assert after_png != before
    code = Image.open(io.BytesIO(after_png)).info["code"].split(",")
    assert float(code[0]) == pytest.approx(slider.max, abs=1e-3)
    at.button(key="sliders_reset").click().run()
    assert next(s for s in at.slider if s.key == "z_0").value == pytest.approx(0.0, abs=0.05)


def test_path_page_builds_a_loop_and_exports_movie_gif_and_json(app, media, tiny_bundle):
    at = app
    at.switch_page("explorer/ui/pages/paths.py").run()
    assert not at.exception, at.exception
    at.number_input(key="rk_n").set_value(5)
    at.number_input(key="path_fps").set_value(12)
    at.button[0].click().run()  # the form's submit button
    assert not at.exception, at.exception
    keys = at.session_state["path_keys"]
    b = load_bundle(tiny_bundle)
    assert len(keys) == 5 and len({int(b.labels[k]) for k in keys}) == 1
    videos = at.get("video")
    assert len(videos) == 1
    mp4 = fetch(media, videos[0].proto.url)[0]
    import imageio.v3 as iio

    frames = iio.imread(mp4, index=None, extension=".mp4", plugin="FFMPEG")
    assert len(frames) == 60  # 5 keys x 12 frames, closed loop
    at.toggle(key="want_gif").set_value(True).run()
    gif, _, name = download(at, media, "Download GIF")
    im = Image.open(io.BytesIO(gif))
    durations = []
    for i in range(im.n_frames):  # Pillow stores runs of identical frames once, with their summed duration
        im.seek(i)
        durations.append(im.info["duration"])
    assert sum(durations) == 60 * export.gif_frame_ms(30) and name.endswith(".gif")
    doc = json.loads(download(at, media, "Path (JSON)")[0])
    assert doc["bundle"] == "tiny" and doc["n_frames"] == 60 and len(doc["frames"]["z"]) == 60
    assert [k["index"] for k in doc["keys"]] == keys
    # reorder and remove key points
    at.button(key="down_0").click().run()
    assert at.session_state["path_keys"][:2] == [keys[1], keys[0]]
    at.button(key="rm_4").click().run()
    assert len(at.session_state["path_keys"]) == 4
    # the scrubber shows one frame
    at.slider(key="frame").set_value(30).run()
    assert not at.exception, at.exception
    assert any(c.startswith("frame 31 of 48") for c in image_captions(at))


def test_samples_page_shows_a_grid_for_a_seed(app, media):
    at = app
    at.switch_page("explorer/ui/pages/samples.py").run()
    assert not at.exception, at.exception
    png1, _, name = download(at, media, "Download the grid (PNG)")
    at.number_input(key="sample_seed").set_value(3).run()
    png2, _, name2 = download(at, media, "Download the grid (PNG)")
    assert png1 != png2 and "seed3" in name2
    assert Image.open(io.BytesIO(png2)).size[0] > 8 * 16


def test_a_link_reopens_the_same_view(tiny_bundle, tmp_path, monkeypatch):
    at = app_on_tiny_bundle(tiny_bundle, tmp_path, monkeypatch)
    at.query_params.update({"bundle": "tiny", "map": "dims", "map_params": "x:2,y:3", "pick": "11",
                            "path": "1,2,3", "fps": "20"})
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["method"] == "dims" and at.session_state["picked"] == 11
    assert at.session_state["path_keys"] == [1, 2, 3] and at.session_state["path_fps"] == 20
    b = load_bundle(tiny_bundle)
    assert any(h.value == b.ids[11] for h in at.subheader)
    # and the view writes itself back into the link
    at.session_state["picked"] = 12
    at.run()
    assert at.query_params["pick"] in ("12", ["12"]) and at.query_params["map_params"] in ("x:2,y:3", ["x:2,y:3"])


def test_probe_atlas_cloud_selection_and_class_directions(app, media, tiny_bundle):
    at = app
    at.sidebar.selectbox(key="method").set_value("pca").run()
    b = load_bundle(tiny_bundle)
    at.session_state["picked"] = 4
    for key in ("probe_mode", "atlas_mode", "cloud_mode"):
        at.toggle(key=key).set_value(True)
    at.run()
    assert not at.exception, at.exception
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert fig["layout"]["images"], "the decoded atlas lies under the points"
    names = [t.get("name") for t in fig["data"]]
    assert "probe" in names and "posterior samples" in names
    # a click on empty space (the probe) decodes the code under it
    at.session_state["probe"] = (1e3, 1e3)
    at.run()
    assert any("Probe at" in h.value for h in at.subheader)
    assert any("Far from any data" in w.value for w in at.warning)
    # a box selection lists the images with their class mix and exports their ids
    at.session_state["selected"] = [0, 1, 2, 3, 4, 5]
    at.run()
    assert any("Selection · 6 images" in h.value for h in at.subheader)
    ids = download(at, media, "Selected ids (CSV)")[0].decode().splitlines()
    assert len(ids) == 7 and ids[1].split(",")[1] == b.ids[0]
    # moving along a class direction changes the decoded image
    at.toggle(key="attr_on").set_value(True).run()
    before = [img.url for el in at.get("image") for img in el.proto.imgs]
    at.slider(key="attr_amount").set_value(1.5).run()
    assert not at.exception, at.exception
    assert any("amount +1.50" == c for c in image_captions(at))
    assert [img.url for el in at.get("image") for img in el.proto.imgs] != before


def test_a_broken_bundle_gets_a_clear_message_not_a_traceback(tiny_bundle, tmp_path, monkeypatch):
    at = app_on_tiny_bundle(tiny_bundle, tmp_path, monkeypatch)
    (tmp_path / "models" / "tiny" / "weights.safetensors").write_bytes(b"garbage")
    at.run()
    assert not at.exception, at.exception
    assert any("weights.safetensors: cannot be read" in e.value for e in at.error)


def test_candidate_upload_is_scored_and_a_bad_one_gets_a_clear_message(app, tiny_bundle):
    at = app
    at.switch_page("explorer/ui/pages/evaluate.py").run()
    at.button(key="run_scores").click().run()  # the per-image log-likelihoods, stored beside the bundle
    assert not at.exception, at.exception
    b = load_bundle(tiny_bundle)
    img = Image.fromarray((b.images[3].transpose(1, 2, 0) * 255).astype(np.uint8)).resize((40, 40))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    at.file_uploader(key="candidate").set_value(("cell one.png", buf.getvalue(), "image/png")).run()
    assert not at.exception, at.exception
    assert any(m.label == "IWAE log p(x)" for m in at.metric)
    assert "as the model sees it" in image_captions(at)
    at.file_uploader(key="candidate").set_value(("notes.png", b"this is text, not a picture", "image/png")).run()
    assert not at.exception, at.exception
    assert any("notes.png: cannot be used" in e.value for e in at.error)


def test_path_plausibility_compares_straight_and_data_following_paths(app, tiny_bundle):
    at = app
    at.session_state["path_keys"] = [0, 3, 6, 9]
    at.session_state["path_fps"] = 10
    at.switch_page("explorer/ui/pages/paths.py").run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table.columns) == ["straight", "through the data"]
    assert "frames off the data" in table.index
    at.toggle(key="path_classify").set_value(True)
    at.toggle(key="path_likelihood").set_value(True).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert "classifier: majority class" in table.index and "mean / min log-likelihood" in table.index
    strip = json.loads(next(c for c in at.get("plotly_chart") if "Plausibility" in c.proto.spec).proto.spec)
    titles = [a["text"] for a in strip["layout"]["annotations"]]
    assert any("log-likelihood of the decoded frame" in t for t in titles)
    at.radio(key="path_method").set_value("data").run()
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value.columns) == ["through the data", "straight"]
