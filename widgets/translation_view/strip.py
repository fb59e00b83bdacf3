"""StripView: a few inputs and what the translator makes of them, refreshed as it trains.

Rows: the inputs (test images from an index, or images picked in the data set browser),
the outputs, the way back F(G(x)) for a translator that has one (CycleGAN), and the targets
when the data are paired, each output captioned with its L1 and PSNR against its target
(what the held-out curve averages). For SRGAN ("stages" in the result) the rows are the
low-res input, bicubic upsampling, the SRResNet and SRGAN generators and the truth, with a
magnifier below: a zoom slider and the same crop of every row (click a tile to move it)."""
from __future__ import annotations

from typing import Any, Mapping, Optional

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget,
)

from ..kit import WheelGuard, mute_label
from .images import heat, mean_scores, to_size, zoom_crop
from .tiles import ClickableTiles, TileRow

STAGE_TITLES = {"srresnet": "SRResNet", "srgan": "SRGAN"}
STAGE_TIPS = {"srresnet": "The generator trained on pixel MSE alone (SRResNet): sharp where "
                          "the data are certain, blurred where several answers fit.",
              "srgan": "The generator trained on the perceptual loss (content in the "
                       "evaluator's feature space + 1e-3 adversarial): crisper strokes, "
                       "sometimes invented detail; often a lower PSNR than SRResNet."}
SCORES_HINT = ("Scored as the held-out curve is: L1 = mean |G(x) \u2212 y| under each output, "
               "PSNR = 10 log10(1 / MSE) under its error map, against the target y.")
SR_HINT = ("Under each picture: its PSNR = 10 log10(1 / MSE) against the truth (higher is "
           "closer pixel by pixel; SRGAN trades some of it for crisper strokes).")
MAX_N = 12
MAX_ZOOM = 6


def busiest_crop(images, zoom: float) -> tuple[float, float]:
    """Where to put the magnifier first: the centre (fractions of width and height) of the
    1/zoom square where the first two images (SRResNet and SRGAN) differ most; the image's
    centre when they agree everywhere."""
    if len(images) < 2:
        return (0.5, 0.5)
    a, b = (np.asarray(im, np.float32).reshape(-1, *np.asarray(im).shape[-2:]).mean(0)
            for im in images[:2])
    d = np.abs(a - b)
    h, w = d.shape
    k = max(1, int(round(min(h, w) / max(1.0, float(zoom)))))
    if d.max() <= 0 or k >= min(h, w):
        return (0.5, 0.5)
    c = np.pad(d, ((1, 0), (1, 0))).cumsum(0).cumsum(1)
    box = c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]     # sums of every k x k square
    i, j = np.unravel_index(int(np.argmax(box)), box.shape)
    return ((j + k / 2) / w, (i + k / 2) / h)


def stage_title(name: str) -> str:
    return STAGE_TITLES.get(name, name)


class StripView(QWidget):
    """Signals: strip_requested(dict) {"split": "test" | "train", "indices" (list or None),
    "start", "n"}; picks_cleared()."""

    strip_requested = Signal(dict)
    picks_cleared = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("translationStripView")
        self._result: Optional[dict] = None
        self._picked: list[int] = []
        self._pool = 0
        self._column = 0
        self._centre = (0.5, 0.5)
        self._centre_chosen = False          # a click placed the magnifier: keep it there
        self._guard = WheelGuard(self)
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        v.setSpacing(4)
        row = QHBoxLayout()
        self._source = QComboBox()
        self._source.setObjectName("stripSourceCombo")
        self._source.addItem("Test images", "test")
        self._source.addItem("Picked in the data set", "train")
        self._source.setToolTip("Test images from an index, or images double-clicked in the data "
                                "set browser (training images; the latest picks first).")
        self._start = QSpinBox()
        self._start.setObjectName("stripStartSpin")
        self._start.setRange(0, 0)
        self._start.setPrefix("from #")
        self._start.setToolTip("The first test image of the strip.")
        self._n = QSpinBox()
        self._n.setObjectName("stripCountSpin")
        self._n.setRange(1, MAX_N)
        self._n.setValue(6)
        self._n.setSuffix(" images")
        self._next = QPushButton("New inputs")
        self._next.setObjectName("stripNewInputsButton")
        self._next.setToolTip("The next test images.")
        self._clear_picks = QPushButton("Clear picks")
        self._clear_picks.setObjectName("stripClearPicksButton")
        for w in (self._source, self._start, self._n):
            w.installEventFilter(self._guard)
        self._source.currentIndexChanged.connect(lambda _i: self._on_settings())
        self._start.valueChanged.connect(lambda _v: self._on_settings())
        self._n.valueChanged.connect(lambda _v: self._on_settings())
        self._next.clicked.connect(self.new_inputs)
        self._clear_picks.clicked.connect(self.clear_picks)
        for w in (self._source, self._start, self._n):
            row.addWidget(w)
        row.addStretch(1)
        row.addWidget(self._clear_picks)
        row.addWidget(self._next)
        v.addLayout(row)
        self._title = QLabel("")
        self._title.setObjectName("stripTitle")
        self._title.setWordWrap(True)
        v.addWidget(self._title)
        self._tiles = ClickableTiles("translationStrip")
        self._tiles.tile_clicked.connect(self._on_tile_clicked)
        v.addWidget(self._tiles, 3)
        self._hint = QLabel(SCORES_HINT)
        self._hint.setObjectName("stripScoresHint")
        self._hint.setWordWrap(True)
        v.addWidget(self._hint)
        zrow = QHBoxLayout()
        self._zoom_label = QLabel("Magnifier")
        self._zoom = QSlider(Qt.Orientation.Horizontal)
        self._zoom.setObjectName("stripZoomSlider")
        self._zoom.setRange(1, MAX_ZOOM)
        self._zoom.setValue(3)
        self._zoom.setMaximumWidth(160)
        self._zoom.setToolTip("Magnification of the crop below (click a tile above to move it).")
        self._zoom.valueChanged.connect(lambda _v: self._draw_zoom())
        self._zoom_text = QLabel("")
        self._zoom_text.setObjectName("stripZoomText")
        zrow.addWidget(self._zoom_label)
        zrow.addWidget(self._zoom)
        zrow.addWidget(self._zoom_text, 1)
        self._zoom_row = QWidget()
        self._zoom_row.setLayout(zrow)
        zrow.setContentsMargins(0, 0, 0, 0)
        v.addWidget(self._zoom_row)
        self._zoom_tiles = ClickableTiles("translationZoom")
        self._zoom_tiles.setToolTip("The same crop of every row, magnified: where SRResNet "
                                    "blurs and SRGAN draws crisp (or invented) strokes.")
        v.addWidget(self._zoom_tiles, 2)
        v.addStretch(0)
        self._set_zoom_visible(False)
        self._sync()

    # -- settings ---------------------------------------------------------------------------------
    def settings(self) -> dict:
        split = str(self._source.currentData())
        if split == "train" and self._picked:
            return {"split": "train", "indices": list(self._picked[:MAX_N]), "start": 0,
                    "n": len(self._picked[:MAX_N])}
        return {"split": "test", "indices": None, "start": int(self._start.value()),
                "n": int(self._n.value())}

    def set_pool_size(self, n: int) -> None:
        """How many test images the input side has (the index chooser's range)."""
        self._pool = int(n)
        self._start.blockSignals(True)
        self._start.setRange(0, max(0, self._pool - 1))
        self._start.blockSignals(False)

    def new_inputs(self) -> None:
        """The next n test images (from the picks back to the test images)."""
        if str(self._source.currentData()) == "train":
            self._source.setCurrentIndex(0)
            return
        n = int(self._n.value())
        nxt = int(self._start.value()) + n
        self._start.setValue(nxt if nxt < max(self._pool, 1) else 0)

    def add_pick(self, index: int) -> None:
        """An image picked in the data set browser: first in the strip, which shows the picks."""
        i = int(index)
        self._picked = [i] + [p for p in self._picked if p != i][:MAX_N - 1]
        self._source.setItemText(1, f"Picked in the data set ({len(self._picked)})")
        if self._source.currentIndex() != 1:
            self._source.setCurrentIndex(1)          # emits through _on_settings
        else:
            self._on_settings()

    def picks(self) -> list[int]:
        return list(self._picked)

    def forget_picks(self) -> None:
        """No picks and the test images again, silently (another run: another data set)."""
        self._picked = []
        self._source.blockSignals(True)
        self._source.setItemText(1, "Picked in the data set")
        self._source.setCurrentIndex(0)
        self._source.blockSignals(False)
        self._sync()

    def clear_picks(self) -> None:
        self._picked = []
        self._source.setItemText(1, "Picked in the data set")
        self.picks_cleared.emit()
        if self._source.currentIndex() == 1:
            self._source.setCurrentIndex(0)
        self._sync()

    def _on_settings(self) -> None:
        self._sync()
        self.strip_requested.emit(self.settings())

    def _sync(self) -> None:
        picked = str(self._source.currentData()) == "train"
        self._start.setEnabled(not picked)
        self._n.setEnabled(not picked)
        self._clear_picks.setVisible(bool(self._picked))
        self._next.setText("Test images" if picked else "New inputs")

    # -- data -----------------------------------------------------------------------------------
    def set_strip(self, d: Mapping[str, Any]) -> None:
        """Show a "translation_strip" result (see studio.core.translation_renders)."""
        self._result = dict(d)
        inputs, outputs = np.asarray(d["inputs"]), np.asarray(d["outputs"])
        n = len(inputs)
        src, dst = (tuple(d.get("sides") or ("input", "output")) + ("", ""))[:2]
        h, w = outputs.shape[-2:]
        targets = d.get("targets")
        l1, psnr = d.get("l1"), d.get("psnr")
        stages = d.get("stages")
        rows: list[TileRow] = []
        if stages:
            scores = d.get("scores") or {}
            now = str(d.get("stage_now", ""))
            rows.append(TileRow("low-res input", [to_size(im, h, w) for im in inputs],
                                tip=f"The {src} input ({inputs.shape[-2]}\u00d7{inputs.shape[-1]}), "
                                    "shown with its pixels as blocks."))
            rows.append(self._scored_row("bicubic", d["bicubic"], scores.get("bicubic"),
                                         "Bicubic upsampling: the classical baseline."))
            for name in d.get("stage_names") or list(stages):
                label = stage_title(name) + (" (training)" if name == now else "")
                rows.append(self._scored_row(label, stages[name], scores.get(name),
                                             STAGE_TIPS.get(name, name)))
            if targets is not None:
                rows.append(TileRow("truth", list(targets), tip="The high-resolution original."))
        else:
            rows.append(TileRow(f"input ({src})" if src else "input", list(inputs),
                                tip="The translator's inputs."))
            caps = [f"L1 {float(v):.3f}" for v in l1] if targets is not None and l1 is not None \
                else None
            rows.append(TileRow(f"output ({dst})" if dst else "output", list(outputs), caps,
                                tip="The translator's outputs now, each with its L1 = mean "
                                    "|G(x) \u2212 y| against its target y."))
            rec = d.get("reconstructions")
            if rec is not None:
                back = "F(G(x))" if d.get("direction", "ab") == "ab" else "G(F(y))"
                rl1 = d.get("recon_l1")
                rows.append(TileRow(f"back {back}", list(rec),
                                    [f"L1 {float(v):.3f}" for v in rl1] if rl1 is not None else None,
                                    tip="Translated there and back: the cycle the loss keeps close "
                                        "to the input (L1 = mean |back - input|)."))
            if targets is not None:
                rows.append(TileRow(f"target ({dst})" if dst else "target", list(targets),
                                    tip="The inputs' partners in the paired data."))
                err = np.abs(outputs - np.asarray(targets))
                rows.append(TileRow("|output \u2212 target|", [heat(e.mean(0)) for e in err],
                                    [f"{float(p):.1f} dB" for p in psnr] if psnr is not None else None,
                                    tip="Where the output misses its target (black: exact, "
                                        "yellow-white: off by 1), with the PSNR = 10 log10(1 / MSE)."))
        self._tiles.set_rows(rows)
        self._hint.setVisible(targets is not None)
        self._hint.setText(SR_HINT if stages else SCORES_HINT)
        self._column = min(self._column, max(0, n - 1))
        if stages and not self._centre_chosen:
            self._centre = busiest_crop([stages[k][self._column] for k in list(stages)[:2]],
                                        self.zoom())
        self._set_zoom_visible(bool(stages))
        self._draw_zoom()
        self._title.setText(self._title_text(d, n))
        self._fit_heights()

    def _scored_row(self, label: str, images, score, tip: str) -> TileRow:
        caps = None
        if score is not None:
            l1, ps = score
            caps = [f"{float(p):.1f} dB" for p in ps]
            tip += f"  Mean L1 {float(np.mean(l1)):.3f}, PSNR {float(np.mean(ps)):.2f} dB."
        return TileRow(label, list(np.asarray(images)), caps, tip=tip)

    def _title_text(self, d: Mapping[str, Any], n: int) -> str:
        src, dst = (tuple(d.get("sides") or ("input", "output")) + ("", ""))[:2]
        idx = [int(i) for i in np.asarray(d.get("indices", []))]
        if d.get("split") == "train":
            which = "picked training image" + ("s " if n > 1 else " ") + ", ".join(f"#{i}" for i in idx)
        elif idx:
            which = f"test images #{idx[0]}\u2013{idx[-1]}" if n > 1 else f"test image #{idx[0]}"
        else:
            which = f"{n} images"
        parts = [f"step {int(d.get('step', 0)):,}", f"{src} \u2192 {dst}", which]
        if d.get("stages"):
            now = str(d.get("stage_now", ""))
            if now:
                parts.append(f"training stage: {stage_title(now)}")
            sc = (d.get("scores") or {})
            bits = [f"{stage_title(k)} {float(np.mean(v[1])):.1f}" for k, v in sc.items()]
            if bits:
                parts.append("PSNR (dB): " + ", ".join(bits))
        else:
            s = mean_scores(d.get("l1"), d.get("psnr"))
            if s:
                parts.append(s)
            if d.get("recon_l1") is not None:
                parts.append(f"cycle L1 {float(np.mean(d['recon_l1'])):.3f}")
        return " \u00b7 ".join(parts)

    def clear(self) -> None:
        self._result = None
        self._tiles.set_rows([])
        self._zoom_tiles.set_rows([])
        self._title.setText("")
        self._set_zoom_visible(False)
        self._fit_heights()

    def result(self) -> Optional[dict]:
        return self._result

    def rows(self) -> list[TileRow]:
        return self._tiles.rows()

    # -- magnifier ------------------------------------------------------------------------------
    def _set_zoom_visible(self, on: bool) -> None:
        self._zoom_row.setVisible(on)
        self._zoom_tiles.setVisible(on)

    def zoom(self) -> int:
        return int(self._zoom.value())

    def set_zoom(self, z: int, column: Optional[int] = None,
                 centre: Optional[tuple[float, float]] = None) -> None:
        if column is not None:
            self._column = int(column)
        if centre is not None:
            self._centre = (float(centre[0]), float(centre[1]))
            self._centre_chosen = True
        self._zoom.setValue(int(z))
        self._draw_zoom()

    def zoom_rows(self) -> list[TileRow]:
        return self._zoom_tiles.rows()

    def _on_tile_clicked(self, _row: int, col: int, fx: float, fy: float) -> None:
        self._column, self._centre = int(col), (fx, fy)
        self._centre_chosen = True
        self._draw_zoom()

    def _draw_zoom(self) -> None:
        d = self._result
        if not d or not d.get("stages"):
            self._zoom_tiles.set_rows([])
            return
        rows = self._tiles.rows()
        i = self._column
        out = np.asarray(d["outputs"])
        h, w = out.shape[-2:]
        z = self.zoom()
        crops, caps = [], []
        for r in rows:
            if i < len(r.images):
                crops.append(zoom_crop(r.images[i], self._centre, z, h, w))
                caps.append(r.label.replace(" (training)", ""))
        self._zoom_tiles.set_rows([TileRow(f"\u00d7{z}", crops, caps)])
        self._zoom_text.setText(f"image {i + 1}, \u00d7{z} around "
                                f"({self._centre[0]:.2f}, {self._centre[1]:.2f}) \u00b7 click a "
                                "tile to move the magnifier")
        self._fit_heights()

    def _fit_heights(self) -> None:
        for grid in (self._tiles, self._zoom_tiles):
            need = grid.height_for(self.width())
            grid.setMaximumHeight(need if need > 0 else 16_777_215)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._fit_heights()

    def apply_palette(self) -> None:
        for lab in (self._hint, self._zoom_text):
            lab.setPalette(self.palette())
            mute_label(lab)
