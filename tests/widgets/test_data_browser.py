"""DataBrowserPanel: sources and options form, load requests, drag and drop, the virtualised
thumbnail grid (60,000 images), class filter, points scatter, skipped files, rendering."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit,
                               QSpinBox, QWidget)

from widgets.data_browser import (DROP_HINT, MAX_SCATTER_POINTS, DataBrowserPanel,
                                  idx_labels_sibling, is_idx_name, request_for_paths)
from widgets.preview import (MNIST_TRAIN_COUNTS, fake_digits, fake_points, fake_skipped,
                             fake_sources)
from widgets.thumbnails import SourceIndexRole, ThumbnailModel, thumbnail_scale, to_qimage
from widgets.viewmodels import DatasetView, FieldSpec, SourceInfo
from .imaging import to_array


# ----------------------------------------------------------------------------------------
# fixtures
# ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    images, labels = fake_digits(60_000, seed=1)
    images.flags.writeable = False          # the panel must never write (or need to copy)
    return images, labels


@pytest.fixture
def mnist_view(digits):
    images, labels = digits
    return DatasetView("mnist", "images", images=images, labels=labels,
                       class_names=tuple(str(i) for i in range(10)), test_count=10_000)


@pytest.fixture
def panel(qtbot):
    p = DataBrowserPanel()
    qtbot.addWidget(p)
    p.resize(400, 600)
    p.set_sources(fake_sources())
    return p


def settle(panel, rounds: int = 60):
    """Let the batched icon layout run to the end, and paint once."""
    app = QApplication.instance()
    for _ in range(rounds):
        app.processEvents()
    return panel.grab()


def shown(panel, qtbot):
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def drag_event(paths, cls=QDragEnterEvent):
    md = QMimeData()
    md.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    args = (Qt.DropAction.CopyAction, md, Qt.MouseButton.LeftButton,
            Qt.KeyboardModifier.NoModifier)
    if cls is QDragEnterEvent:
        ev = QDragEnterEvent(QPoint(10, 10), *args)
    else:
        ev = QDropEvent(QPointF(10, 10), *args)
    ev._md = md     # keep the mime data alive as long as the event
    return ev


def drop(panel, paths):
    """Drag enter then drop, as a real drag would; returns whether the enter was accepted."""
    enter = drag_event(paths, QDragEnterEvent)
    QApplication.sendEvent(panel, enter)
    accepted = enter.isAccepted()
    if accepted:
        QApplication.sendEvent(panel, drag_event(paths, QDropEvent))
    return accepted




# ----------------------------------------------------------------------------------------
# the virtualised thumbnail grid
# ----------------------------------------------------------------------------------------
def test_sixty_thousand_images_build_only_visible_thumbnails(panel, qtbot, mnist_view):
    shown(panel, qtbot)
    panel.show_dataset(mnist_view)
    settle(panel)
    model = panel.thumb_model
    assert model.rowCount() == 60_000
    assert panel.visible_count() == 60_000
    assert 0 < model.build_count < 200, model.build_count
    # scroll to the end: only the newly visible rows are built
    before = model.build_count
    sb = panel.thumb_view.verticalScrollBar()
    assert sb.maximum() > 0
    sb.setValue(sb.maximum())
    settle(panel, 5)
    assert 0 < model.build_count - before < 200
    assert model.cache_len() <= 1024
    # the model shows the array itself, not a copy
    assert panel.current_view().images is mnist_view.images


def test_summary_line(panel, mnist_view):
    panel.show_dataset(mnist_view)
    text = panel.summary_text()
    for part in ("mnist", "60,000 images", "1×28×28", "10 classes", "10,000 test"):
        assert part in text


def test_class_filter_count_and_indices(panel, qtbot, mnist_view):
    shown(panel, qtbot)
    panel.show_dataset(mnist_view)
    combo = panel.class_combo
    assert combo.itemText(0) == "All classes (60000)"
    assert combo.count() == 11
    assert combo.itemText(4) == "3 (6131)"
    panel.set_class_filter(3)
    assert combo.currentText() == "3 (6131)"
    assert panel.visible_count() == 6131
    assert panel.thumb_model.rowCount() == 6131
    expected = np.flatnonzero(mnist_view.labels == 3)
    np.testing.assert_array_equal(panel.selected_indices(), expected)
    assert panel.count_label.text() == "6,131 images"
    # a bar click filters too; clicking the selected bar again shows all
    panel.class_bars.class_clicked.emit(7)
    assert panel.current_class() == 7 and panel.visible_count() == MNIST_TRAIN_COUNTS[7]
    panel.set_class_filter(-1)
    assert panel.visible_count() == 60_000


def test_per_class_counts(panel, mnist_view):
    panel.show_dataset(mnist_view)
    expected = {c: n for c, n in enumerate(MNIST_TRAIN_COUNTS)}
    assert panel.class_counts() == expected
    assert panel.class_bars.counts() == expected
    texts = [panel.class_combo.itemText(i) for i in range(1, 11)]
    assert texts == [f"{c} ({n})" for c, n in enumerate(MNIST_TRAIN_COUNTS)]


def test_class_names_in_filter_and_tooltip(panel):
    images = np.zeros((5, 3, 8, 8), np.uint8)
    labels = np.array([0, 1, 1, 0, 1])
    panel.show_dataset(DatasetView("pets", "images", images=images, labels=labels,
                                   class_names=("cat", "dog")))
    assert panel.class_combo.itemText(1) == "cat (2)"
    assert panel.class_combo.itemText(2) == "dog (3)"
    tip = panel.thumb_model.data(panel.thumb_model.index(1), Qt.ItemDataRole.ToolTipRole)
    assert "dog" in tip
    assert "3×8×8" in panel.summary_text()


def test_double_click_emits_original_index_after_filtering(panel, qtbot, mnist_view):
    shown(panel, qtbot)
    panel.show_dataset(mnist_view)
    panel.set_class_filter(7)
    settle(panel)
    view = panel.thumb_view
    index = panel.thumb_model.index(5)
    rect = view.visualRect(index)
    assert rect.isValid() and view.viewport().rect().contains(rect.center())
    # a real double-click is press, release, then a double-click event (QTest sends only
    # the last, and item views act only when the press hit the same item)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    with qtbot.waitSignal(panel.image_picked, timeout=1000) as blocker:
        qtbot.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    picked = blocker.args[0]
    assert picked == int(np.flatnonzero(mnist_view.labels == 7)[5])
    assert mnist_view.labels[picked] == 7
    assert index.data(SourceIndexRole) == picked


def test_use_in_latent_explorer_action(panel, qtbot, mnist_view):
    panel.show_dataset(mnist_view)
    panel.set_class_filter(2)
    panel.thumb_view.setCurrentIndex(panel.thumb_model.index(3))
    with qtbot.waitSignal(panel.image_picked, timeout=1000) as blocker:
        panel.use_in_explorer_action.trigger()
    assert blocker.args == [int(np.flatnonzero(mnist_view.labels == 2)[3])]


def test_thumbnails_are_crisp_upscales():
    assert thumbnail_scale(28, 28) == (2, 56)
    assert thumbnail_scale(8, 8) == (8, 64)
    assert thumbnail_scale(256, 256) == (1, 64)
    img = np.zeros((1, 2, 2), np.uint8)
    img[0, 0, 1] = 255
    q = to_qimage(img, scale=3)
    assert (q.width(), q.height()) == (6, 6)
    arr = to_array(q)
    assert (arr[0:3, 3:6] == 255).all() and (arr[0:3, 0:3] == 0).all()   # nearest, no blur
    rgb = np.zeros((3, 4, 4), np.uint8)
    rgb[0] = 200                                                          # red
    a = to_array(to_qimage(rgb))
    assert a[0, 0].tolist() == [200, 0, 0]


def test_model_filter_swaps_indices_and_keeps_cache(digits):
    images, labels = digits
    m = ThumbnailModel()
    m.set_images(images, labels)
    m.data(m.index(10), Qt.ItemDataRole.DecorationRole)
    assert m.build_count == 1
    m.set_indices(np.array([10, 20]))
    assert m.rowCount() == 2
    m.data(m.index(0), Qt.ItemDataRole.DecorationRole)      # image 10: cached
    assert m.build_count == 1
    assert m.data(m.index(1), SourceIndexRole) == 20


# ----------------------------------------------------------------------------------------
# points
# ----------------------------------------------------------------------------------------
def test_points_scatter_subsamples_large_sets(panel, qtbot):
    pts, labels = fake_points(50_000, modes=8)
    panel.show_dataset(DatasetView("ring8", "points", points=pts, labels=labels,
                                   test_count=5000))
    assert panel.stack.currentWidget() is panel.plot
    x, y = panel.scatter.getData()
    assert len(x) == MAX_SCATTER_POINTS
    assert panel.visible_count() == 50_000
    assert not panel.note_label.isHidden()
    assert "20,000" in panel.note_label.text() and "50,000" in panel.note_label.text()
    drawn = panel.drawn_indices()
    np.testing.assert_allclose(x, pts[drawn, 0])
    # coloured by label: one brush colour per class
    colours = {b.color().name() for b in panel.scatter.data["brush"]}
    assert len(colours) == 8
    assert "2D points" in panel.summary_text()
    assert panel.plot.getPlotItem().getViewBox().state["aspectLocked"]


def test_points_small_set_all_drawn_and_filterable(panel):
    pts, labels = fake_points(1000, modes=4)
    panel.show_dataset(DatasetView("toy", "points", points=pts, labels=labels))
    assert len(panel.scatter.getData()[0]) == 1000
    assert panel.note_label.isHidden()
    panel.set_class_filter(2)
    assert panel.visible_count() == int((labels == 2).sum())
    assert len(panel.scatter.getData()[0]) == int((labels == 2).sum())
    np.testing.assert_array_equal(panel.selected_indices(), np.flatnonzero(labels == 2))


def test_points_without_labels(panel):
    pts, _ = fake_points(300)
    panel.show_dataset(DatasetView("drawn", "points", points=pts))
    assert len(panel.scatter.getData()[0]) == 300
    assert panel.filter_row.isHidden()
    assert "no labels" in panel.summary_text()


# ----------------------------------------------------------------------------------------
# skipped files
# ----------------------------------------------------------------------------------------
def test_skipped_list_shows_every_entry(panel, qtbot):
    shown(panel, qtbot)
    skipped = fake_skipped(12)
    panel.show_dataset(DatasetView("folder", "images", images=np.zeros((3, 1, 8, 8), np.uint8),
                                   skipped=skipped))
    assert panel.skipped_button.isVisible()
    assert panel.skipped_button.text() == "12 files skipped"
    assert panel.skipped_entries() == [(p, r) for p, r in skipped]
    assert not panel.skipped_tree.isVisible()          # collapsed at first
    panel.skipped_button.click()
    assert panel.skipped_tree.isVisible()
    assert panel.skipped_tree.topLevelItemCount() == 12
    # hidden when a data set without skipped files comes
    panel.show_dataset(DatasetView("mnist", "images", images=np.zeros((3, 1, 8, 8), np.uint8)))
    assert not panel.skipped_button.isVisible() and not panel.skipped_tree.isVisible()


def test_one_skipped_file_is_singular(panel):
    panel.show_dataset(DatasetView("f", "images", images=np.zeros((1, 1, 4, 4), np.uint8),
                                   skipped=[("/a/b.txt", "not an image")]))
    assert panel.skipped_button.text() == "1 file skipped"


# ----------------------------------------------------------------------------------------
# sources, options form and load requests
# ----------------------------------------------------------------------------------------
FORM_SOURCE = SourceInfo("demo", "A demo source with every kind of field.", "images", (
    FieldSpec("n", "int", 100, "How many.", min=1, max=1000),
    FieldSpec("rate", "float", 0.001, "Learning rate.", min=0.0, max=1.0),
    FieldSpec("channels", "str", "auto", "Channels.", choices=("auto", "1", "3")),
    FieldSpec("name", "str", "x", "A name."),
    FieldSpec("flip", "bool", False, "Flip them."),
))


def editor(panel, name):
    return panel.findChild(QWidget, f"field_{name}")


def test_form_is_generated_from_fields(panel):
    panel.set_sources([FORM_SOURCE])
    assert panel.current_source() == "demo"
    assert panel.description_label.text() == FORM_SOURCE.description
    n, rate, ch, name, flip = (editor(panel, f.name) for f in FORM_SOURCE.fields)
    assert isinstance(n, QSpinBox) and (n.minimum(), n.maximum(), n.value()) == (1, 1000, 100)
    assert isinstance(rate, QDoubleSpinBox) and rate.maximum() == 1.0
    assert rate.value() == pytest.approx(0.001)
    assert isinstance(ch, QComboBox) and [ch.itemText(i) for i in range(ch.count())] == \
        ["auto", "1", "3"]
    assert isinstance(name, QLineEdit) and name.text() == "x"
    assert isinstance(flip, QCheckBox)
    for f in FORM_SOURCE.fields:
        assert editor(panel, f.name).toolTip() == f.help
        label = panel.options_form.labelForField(editor(panel, f.name))
        assert label is not None and label.text()


def test_load_emits_form_values_with_right_types(panel, qtbot):
    panel.set_sources([FORM_SOURCE] + fake_sources())
    panel.set_current_source("demo")
    editor(panel, "n").setValue(250)
    editor(panel, "rate").setValue(0.01)
    editor(panel, "channels").setCurrentIndex(2)
    editor(panel, "name").setText("hello")
    editor(panel, "flip").setChecked(True)
    with qtbot.waitSignal(panel.load_requested, timeout=1000) as blocker:
        qtbot.mouseClick(panel.load_button, Qt.MouseButton.LeftButton)
    name, opts = blocker.args
    assert name == "demo"
    assert opts == {"n": 250, "rate": 0.01, "channels": "3", "name": "hello", "flip": True}
    assert type(opts["n"]) is int and type(opts["rate"]) is float
    assert type(opts["flip"]) is bool and type(opts["channels"]) is str


def test_sources_remember_their_options(panel):
    panel.set_current_source("mnist")
    editor(panel, "limit").setValue(500)
    panel.set_current_source("folder")
    assert editor(panel, "limit") is None and editor(panel, "resolution") is not None
    panel.set_current_source("mnist")
    assert panel.options() == {"limit": 500}
    panel.set_sources(fake_sources())               # refresh keeps choice and values
    assert panel.current_source() == "mnist" and panel.options() == {"limit": 500}


def test_add_folder_emits_folder_with_its_options(panel, qtbot, tmp_path, monkeypatch):
    panel.set_current_source("folder")
    editor(panel, "resolution").setValue(64)
    panel.set_current_source("mnist")
    monkeypatch.setattr(panel, "_ask_directory", lambda: str(tmp_path))
    with qtbot.waitSignal(panel.load_requested, timeout=1000) as blocker:
        panel.add_folder_button.click()
    assert blocker.args == ["folder", {"path": str(tmp_path), "resolution": 64,
                                       "channels": "auto", "test_fraction": 0.1}]
    assert panel.current_source() == "folder" and panel.options()["path"] == str(tmp_path)


def test_cancelled_dialogs_emit_nothing(panel, qtbot, monkeypatch):
    monkeypatch.setattr(panel, "_ask_directory", lambda: "")
    monkeypatch.setattr(panel, "_ask_file", lambda: "")
    with qtbot.assertNotEmitted(panel.load_requested):
        panel.add_folder_button.click()
        panel.open_file_button.click()


def test_open_file_idx_with_sibling_labels(panel, qtbot, tmp_path, monkeypatch):
    images = tmp_path / "train-images-idx3-ubyte"
    labels = tmp_path / "train-labels-idx1-ubyte"
    images.write_bytes(b"\0\0\x08\x03")
    labels.write_bytes(b"\0\0\x08\x01")
    monkeypatch.setattr(panel, "_ask_file", lambda: str(images))
    with qtbot.waitSignal(panel.load_requested, timeout=1000) as blocker:
        panel.open_file_button.click()
    name, opts = blocker.args
    assert name == "idx"
    assert opts["images"] == str(images) and opts["labels"] == str(labels)


def test_open_file_npz(panel, qtbot, tmp_path, monkeypatch):
    f = tmp_path / "data.npz"
    np.savez(f, x=np.zeros((2, 2), np.float32))
    monkeypatch.setattr(panel, "_ask_file", lambda: str(f))
    with qtbot.waitSignal(panel.load_requested, timeout=1000) as blocker:
        panel.open_file_button.click()
    assert blocker.args[0] == "npz" and blocker.args[1]["path"] == str(f)


# ----------------------------------------------------------------------------------------
# drag and drop
# ----------------------------------------------------------------------------------------
def test_drop_folder(panel, qtbot, tmp_path):
    with qtbot.waitSignal(panel.load_requested, timeout=1000) as blocker:
        assert drop(panel, [tmp_path])
    assert blocker.args[0] == "folder" and blocker.args[1]["path"] == str(tmp_path)
    assert blocker.args[1]["resolution"] == 32


def test_drop_npz(panel, qtbot, tmp_path):
    f = tmp_path / "points.npz"
    f.write_bytes(b"PK")
    with qtbot.waitSignal(panel.load_requested, timeout=1000) as blocker:
        assert drop(panel, [f])
    assert blocker.args[0] == "npz" and blocker.args[1]["path"] == str(f)


def test_drop_gz_idx_finds_gz_labels(panel, qtbot, tmp_path):
    images = tmp_path / "t10k-images-idx3-ubyte.gz"
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    images.write_bytes(b"x")
    labels.write_bytes(b"x")
    with qtbot.waitSignal(panel.load_requested, timeout=1000) as blocker:
        assert drop(panel, [images])
    assert blocker.args == ["idx", {"images": str(images), "labels": str(labels),
                                    "test_fraction": 0.1}]


def test_drop_idx_without_labels(panel, qtbot, tmp_path):
    images = tmp_path / "my.idx3-ubyte"
    images.write_bytes(b"x")
    with qtbot.waitSignal(panel.load_requested, timeout=1000) as blocker:
        assert drop(panel, [images])
    assert blocker.args[0] == "idx"
    assert blocker.args[1]["images"] == str(images) and "labels" not in blocker.args[1]


def test_drop_anything_else_shows_message(panel, qtbot, tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("hi")
    with qtbot.assertNotEmitted(panel.load_requested):
        assert not drop(panel, [f])
        QApplication.sendEvent(panel, drag_event([f], QDropEvent))   # even if forced
    assert DROP_HINT in panel.status_text()


def test_path_helpers(tmp_path):
    for name in ("train-images-idx3-ubyte", "train-images.idx3-ubyte", "x.idx",
                 "t10k-images-idx3-ubyte.gz", "data.idx1"):
        assert is_idx_name(name), name
    for name in ("a.npz", "a.png", "ubyte.txt"):
        assert not is_idx_name(name), name
    img = tmp_path / "train-images.idx3-ubyte"
    lab = tmp_path / "train-labels.idx1-ubyte"
    img.write_bytes(b"x")
    assert idx_labels_sibling(img) is None
    lab.write_bytes(b"x")
    assert idx_labels_sibling(img) == str(lab)
    # a pair dropped together; and the MNIST test split next to it
    t_img, t_lab = tmp_path / "t10k-images.idx3-ubyte", tmp_path / "t10k-labels.idx1-ubyte"
    t_img.write_bytes(b"x")
    t_lab.write_bytes(b"x")
    assert request_for_paths([lab, img]) == ("idx", {
        "images": str(img), "labels": str(lab),
        "test_images": str(t_img), "test_labels": str(t_lab)})
    assert request_for_paths([lab]) is None
    assert request_for_paths([]) is None


# ----------------------------------------------------------------------------------------
# status
# ----------------------------------------------------------------------------------------
def test_busy_and_error_then_cleared(panel, qtbot, mnist_view):
    shown(panel, qtbot)
    panel.set_busy("Loading mnist…")
    assert panel.status_text() == "Loading mnist…" and panel.is_busy()
    panel.set_error("data.path: /nope is not a folder")
    assert panel.status_text() == "data.path: /nope is not a folder"
    assert not panel.is_busy() and "color" in panel.status_label.styleSheet()
    panel.show_dataset(mnist_view)
    assert panel.status_text() == "" and not panel.is_busy()
    assert panel.current_view() is mnist_view


def test_an_error_without_words_still_says_something(panel, qtbot):
    shown(panel, qtbot)
    panel.set_error("")             # str(MemoryError()) is ""
    assert panel.status_text() == "Loading failed, and no reason was given."


def test_a_long_error_shows_its_first_lines_and_the_rest_on_hover(panel, qtbot):
    shown(panel, qtbot)
    message = "data.path: no image could be loaded from /d\n0 loaded, 30 skipped" + "".join(
        f"\n  f{i}.txt: not an image file (.txt)" for i in range(30))
    panel.set_error(message)
    lines = panel.status_text().splitlines()
    assert lines[:2] == ["data.path: no image could be loaded from /d", "0 loaded, 30 skipped"]
    assert len(lines) == 9 and lines[-1] == "… 24 more lines (hover to see them)"
    assert panel.status_label.toolTip() == message
    panel.set_error("short")
    assert panel.status_label.toolTip() == ""


def test_error_text_is_shown_as_written(panel, qtbot):
    shown(panel, qtbot)
    panel.set_error("'x' has dtype <b>bold</b>")
    assert panel.status_label.textFormat() == Qt.TextFormat.PlainText


def test_a_failed_scan_lists_its_skipped_files(panel, qtbot):
    shown(panel, qtbot)
    panel.set_error("data.path: no image could be loaded from /d",
                    skipped=[("a.txt", "not an image file (.txt)"), (".x.png", "hidden file")])
    assert panel.skipped_button.isVisible() and panel.skipped_button.text() == "2 files skipped"
    assert panel.skipped_entries() == [("a.txt", "not an image file (.txt)"),
                                       (".x.png", "hidden file")]


def test_an_empty_data_set_is_never_shown_silently(panel, qtbot):
    shown(panel, qtbot)
    panel.show_dataset(DatasetView("npz", "images", images=np.zeros((0, 1, 8, 8), np.uint8)))
    assert "holds no samples" in panel.status_text()
    assert "color" in panel.status_label.styleSheet()


# ----------------------------------------------------------------------------------------
# rendering
# ----------------------------------------------------------------------------------------
def _bright_pixels_in_grid(panel) -> int:
    img = to_array(panel.grab().toImage())
    vp = panel.thumb_view.viewport()
    top_left = vp.mapTo(panel, QPoint(0, 0))
    area = img[top_left.y(): top_left.y() + vp.height(), top_left.x(): top_left.x() + vp.width()]
    assert area.size > 0
    return int((area.min(axis=2) > 200).sum())


def test_render_draws_thumbnails(panel, qtbot, mnist_view):
    shown(panel, qtbot)
    panel.show_dataset(mnist_view)
    settle(panel)
    assert panel.thumb_view.isVisible()
    bright = _bright_pixels_in_grid(panel)
    vp = panel.thumb_view.viewport()
    assert bright > 0.05 * vp.width() * vp.height(), bright
    # control: black images draw no bright pixels, so the count above comes from thumbnails
    dark = DatasetView("dark", "images", images=np.zeros((500, 1, 28, 28), np.uint8))
    panel.show_dataset(dark)
    settle(panel)
    assert _bright_pixels_in_grid(panel) == 0


@pytest.mark.parametrize("size", [(360, 600), (800, 600)])
def test_layout_fits_dock_sizes(qtbot, mnist_view, size):
    p = DataBrowserPanel()
    qtbot.addWidget(p)
    p.set_sources(fake_sources())
    p.set_current_source("folder")                  # the longest form
    p.resize(*size)
    shown(p, qtbot)
    p.show_dataset(mnist_view)
    settle(p)
    assert p.minimumSizeHint().width() <= 360
    assert p.thumb_view.viewport().height() >= 150
    assert p.thumb_view.viewport().width() >= 2 * p.thumb_view.gridSize().width()
    for b in (p.load_button, p.add_folder_button, p.open_file_button):
        assert b.width() >= b.fontMetrics().horizontalAdvance(b.text())
