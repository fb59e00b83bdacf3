"""EvaluationTable: the metrics of one or more runs side by side, with the real-data
reference (floor or ceiling) in its own column, so every number is read against what a
perfect model would get at the same sample count.

The keys are those of studio/core/evaluation.py; each row shows a readable name with an arrow
for its direction, and a tooltip saying what it measures. The window calls
`set_current_run(name, latest_record_or_None)` when a run opens and `add_run(name, record)`
when an evaluation arrives (the current run's column stays first; other runs are
comparisons after it)."""
from __future__ import annotations

import re
from typing import NamedTuple, Optional, Sequence

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

# Keys that describe the evaluation rather than measure the model.
INFO_KEYS = ("run", "engine", "step", "seed", "n", "test_examples", "quality/samples",
             "modes/samples", "modes/total", "likelihood/examples", "translation/examples",
             "back/examples")
REFERENCE_SUFFIXES = ("_floor", "_real")       # metric key + suffix: its real-data reference
NO_REFERENCE = "no real-data reference for this metric"
DASH = "\u2014"
HEADER_LINE = 12                               # characters per line of a run's header
MIN_NAME_WIDTH = 140                           # px: metric names wrap down to this


class Metric(NamedTuple):
    name: str
    help: str
    better: Optional[str] = None                # "lower", "higher" or None (neither)
    reference: object = None                    # a key of the record, or a number
    reference_help: str = ""


METRICS = {
    "test/elbo": Metric("Test ELBO (nats)", "The evidence lower bound on held-out images, per "
                        "example: a lower bound on log p(x).", "higher"),
    "test/bits_per_dim": Metric("Test bits/dim", "The exact negative log-likelihood of held-out "
                                "images in bits per pixel (uniformly dequantised 8-bit data): "
                                "what a lossless code built from the model would need. "
                                "Published on MNIST: MAF 1.89, RealNVP 1.06, Glow 1.05.",
                                "lower"),
    "test/nll": Metric("Test NLL (nats)", "The exact negative log-likelihood of held-out points, "
                       "per point, in the data's own coordinates.", "lower"),
    "test/recon": Metric("Test reconstruction (nats)", "How well decoding the code of a "
                         "held-out image gives it back (the decoder's negative log-likelihood).",
                         "lower"),
    "test/kl": Metric("Test KL to the prior (nats)", "KL(q(z|x) || p(z)) on held-out images: "
                      "how much the codes carry. Neither direction is better: it trades off "
                      "against reconstruction."),
    "test/mse": Metric("Test mean squared error", "Squared error per element on held-out data "
                       "(for diffusion: the denoising loss at fixed t and noise).", "lower"),
    "likelihood/elbo_k1": Metric("ELBO on the same subset (nats)", "The k = 1 bound on the test "
                                 "subset of the importance-weighted bound; the gap between them "
                                 "is how loose the ELBO is.", "higher"),
    "quality/fd": Metric("Frechet distance (evaluator features)", "Distance between Gaussians "
                         "fitted to the MNIST evaluator's features of the samples and of the "
                         "test split (an FID analogue). Even real images do not score 0 at a "
                         "finite sample count: compare with the floor.", "lower",
                         "quality/fd_floor", "the floor: real training images against the test "
                         "split, at the same sample count"),
    "quality/precision": Metric("Precision (k = 3)", "Share of samples inside the real images' "
                                "feature manifold: how realistic they are.", "higher",
                                "quality/precision_floor", "real training images against the "
                                "test split, at the same sample count"),
    "quality/recall": Metric("Recall (k = 3)", "Share of real test images inside the samples' "
                             "feature manifold: how much of the data the model covers.",
                             "higher", "quality/recall_floor", "real training images against "
                             "the test split, at the same sample count"),
    "quality/classifier_score": Metric("Classifier score (Inception Score analogue)", "High when "
                                       "the evaluator is sure of each sample's class and the "
                                       "classes are balanced; from 1 to 10.", "higher",
                                       "quality/classifier_score_real", "the test split's own "
                                       "score: the ceiling"),
    "coverage/classes": Metric("Classes covered (evaluator)", "Classes the evaluator finds at "
                               "least once among the samples.", "higher"),
    "coverage/kl": Metric("Class histogram KL to the data", "KL of the evaluator's class "
                          "histogram of the samples to the data's class distribution: 0 when "
                          "the classes come in the data's proportions.", "lower", 0.0,
                          "the data's own class histogram: KL 0"),
    "modes/captured": Metric("Modes captured", "Modes of the mixture with at least one sample "
                             "within 3 sigma (PacGAN protocol, 2,500 samples).", "higher",
                             "modes/total", "every mode of the data"),
    "modes/high_quality": Metric("High-quality samples (within 3 sigma)", "Share of samples "
                                 "within 3 standard deviations of a mode.", "higher", 0.989,
                                 "a perfect model: 3 sigma holds 98.9% of a 2D Gaussian's "
                                 "samples"),
    "modes/reverse_kl": Metric("Reverse KL over modes", "KL of the samples' share per nearest "
                               "mode to the uniform share of the data: 0 when balanced, log K "
                               "when all fall on one mode.", "lower", 0.0,
                               "the data's own, uniform share: KL 0"),
    # translators (studio/core/translation_metrics.py)
    "test/l1": Metric("Test L1 (held-out curve)", "Mean absolute difference between the "
                      "translations of the test sources and their paired targets: the number "
                      "the held-out curve plots during training.", "lower", 0.0,
                      "the targets themselves"),
    "test/psnr": Metric("Test PSNR (dB, held-out curve)", "Peak signal-to-noise ratio of the "
                        "translations of the test sources against their paired targets: "
                        "10 log10(1 / MSE) per image, averaged.", "higher"),
    "test/cycle_l1_x": Metric("Test cycle L1, source -> target -> source", "Mean |F(G(x)) - x| "
                              "on held-out source images (the engine's held-out curve).",
                              "lower"),
    "test/cycle_l1_y": Metric("Test cycle L1, target -> source -> target", "Mean |G(F(y)) - y| "
                              "on held-out target images (the engine's held-out curve).",
                              "lower"),
    "translation/l1": Metric("Translation L1 to the targets", "Mean absolute difference "
                             "between each test source's translation and its paired target "
                             "(pixels in [0, 1]); compare with the baseline's.", "lower", 0.0,
                             "the targets themselves"),
    "translation/psnr": Metric("Translation PSNR (dB)", "10 log10(1 / MSE) of each translation "
                               "against its paired target, averaged over the test images "
                               "(100 dB at most). Rewards the blurry average; compare with "
                               "the baseline's and look at the images.", "higher"),
    "translation/ssim": Metric("Translation SSIM", "Structural similarity (Wang et al. 2004; "
                               "11x11 Gaussian window, sigma 1.5) of each translation to its "
                               "target, from -1 to 1.", "higher", 1.0,
                               "the targets themselves: 1"),
    "baseline/l1": Metric("Baseline L1 (bicubic or identity)", "The same L1 for what a "
                          "translator has to beat: bicubic upsampling of the source when the "
                          "sides differ in size (super-resolution), the source itself when "
                          "they do not.", "lower", 0.0, "the targets themselves"),
    "baseline/psnr": Metric("Baseline PSNR (dB, bicubic or identity)", "The same PSNR for "
                            "bicubic upsampling of the source (or the source itself when the "
                            "sides have one size).", "higher"),
    "baseline/ssim": Metric("Baseline SSIM (bicubic or identity)", "The same SSIM for bicubic "
                            "upsampling of the source (or the source itself).", "higher", 1.0,
                            "the targets themselves: 1"),
    "srresnet/l1": Metric("SRResNet stage L1", "The L1 of SRGAN's pixel-MSE stage (SRResNet), "
                          "kept as it was when the adversarial phase began.", "lower", 0.0,
                          "the targets themselves"),
    "srresnet/psnr": Metric("SRResNet stage PSNR (dB)", "The PSNR of SRGAN's SRResNet stage: "
                            "in the paper higher than SRGAN's, whose images are sharper.",
                            "higher"),
    "srresnet/ssim": Metric("SRResNet stage SSIM", "The SSIM of SRGAN's SRResNet stage.",
                            "higher", 1.0, "the targets themselves: 1"),
    "translation/class_preserved": Metric("Class preserved, source -> target (evaluator)",
                                          "Share of test translations whose class, by the "
                                          "MNIST evaluator, is the source's class (its label).",
                                          "higher", "translation/class_preserved_real",
                                          "the evaluator's accuracy on real target-side test "
                                          "images: a perfect translator's score"),
    "baseline/class_preserved": Metric("Class preserved by the baseline", "The same share for "
                                       "bicubic upsampling of the source (or the source "
                                       "itself).", "higher",
                                       "translation/class_preserved_real", "the evaluator's "
                                       "accuracy on real target-side test images"),
    "srresnet/class_preserved": Metric("Class preserved by the SRResNet stage", "The same "
                                       "share for SRGAN's SRResNet stage.", "higher",
                                       "translation/class_preserved_real", "the evaluator's "
                                       "accuracy on real target-side test images"),
    "translation/fd_to_target": Metric("Frechet distance to the target side", "Distance "
                                       "between Gaussians fitted to evaluator features of the "
                                       "translations and of as many target-side test images "
                                       "(paired data: their own targets, so a perfect "
                                       "translator scores 0).", "lower",
                                       "translation/fd_to_target_floor", "the floor: real "
                                       "target-side training images against the same test "
                                       "images"),
    "baseline/fd_to_target": Metric("Frechet distance of the baseline to the target side",
                                    "The same distance for bicubic upsampling of the source "
                                    "(or the source itself: how far apart the two sides are "
                                    "before any translation).", "lower",
                                    "translation/fd_to_target_floor", "the floor: real "
                                    "target-side training images"),
    "srresnet/fd_to_target": Metric("Frechet distance of the SRResNet stage to the target side",
                                    "The same distance for SRGAN's SRResNet stage: in the "
                                    "paper's terms, blurrier images sit farther from real ones.",
                                    "lower", "translation/fd_to_target_floor", "the floor: real "
                                    "target-side training images"),
    "back/class_preserved": Metric("Class preserved, target -> source (the way back)", "Share "
                                   "of target-side test images translated back (CycleGAN's F) "
                                   "whose evaluator class is their label.", "higher",
                                   "back/class_preserved_real", "the evaluator's accuracy on "
                                   "real source-side test images"),
    "back/fd_to_source": Metric("Frechet distance of the way back to the source side",
                                "Distance between evaluator features of F(target test images) "
                                "and of as many source-side test images.", "lower",
                                "back/fd_to_source_floor", "the floor: real source-side "
                                "training images against the same test images"),
    "cycle/l1_source": Metric("Cycle L1, source -> target -> source", "Mean |F(G(x)) - x| on "
                              "the test sources used above: small while F can read back what G "
                              "hid in its output (Chu et al. 2017).", "lower", 0.0,
                              "an exact cycle"),
    "cycle/l1_target": Metric("Cycle L1, target -> source -> target", "Mean |G(F(y)) - y| on "
                              "the target-side test images used above.", "lower", 0.0,
                              "an exact cycle"),
    "gan/d_real_test": Metric("D on held-out real data", "The discriminator's mean output on "
                              "test images; close to its output on generated ones when it "
                              "cannot tell them apart."),
    "gan/d_fake_test": Metric("D on generated data", "The discriminator's mean output on "
                              "generated samples."),
}
_ARROWS = {"lower": "\u2193", "higher": "\u2191"}


def metric_info(key: str) -> Metric:
    """The readable name and explanation of a metric key (the key itself if unknown)."""
    m = re.fullmatch(r"likelihood/iwae_k(\d+)", key)
    if m:
        return Metric(f"Importance-weighted bound (k = {m.group(1)}, nats)", "A tighter lower "
                      "bound on log p(x) than the ELBO, from k importance samples per test "
                      "image (on a subset of the test split).", "higher")
    return METRICS.get(key, Metric(key, ""))


class EvaluationTable(QWidget):
    compare_requested = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("EvaluationTable")
        self._runs: list[tuple[str, dict]] = []
        self._current: Optional[str] = None
        self._keys: list[str] = []
        lay = QVBoxLayout(self)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        lay.addWidget(self.caption)
        self.table = QTableWidget(0, 0, self)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(True)
        self.table.verticalHeader().setVisible(False)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeToContents)
        hh.setDefaultAlignment(Qt.AlignCenter)
        self.table.viewport().installEventFilter(self)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.compare_button = QPushButton("Add run to compare...")
        self.compare_button.clicked.connect(self.compare_requested)
        self.clear_button = QPushButton("Clear")
        self.clear_button.setToolTip("Remove every column, the current run's too")
        self.clear_button.clicked.connect(self.clear)
        row.addWidget(self.compare_button)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        lay.addLayout(row)
        self._rebuild()

    # -- public API ---------------------------------------------------------------------------

    def set_current_run(self, name: Optional[str], record: Optional[dict] = None) -> None:
        """A run was opened (or started): drop every column, of the previous run and of its
        comparisons, and show `record` (the run's latest evaluation, if it has one)."""
        self._current = name
        self._runs = [(name, record)] if (name and record) else []
        self._rebuild()

    def set_runs(self, runs: Sequence[tuple[str, dict]]) -> None:
        """runs: (column title, evaluation record) pairs; the first is the current run."""
        self._runs = list(runs)
        self._current = self._runs[0][0] if self._runs else self._current
        self._rebuild()

    def add_run(self, title: str, record: dict) -> None:
        """Show an evaluation: the current run's replaces its column (first), any other run's
        is added (or replaced) as a comparison after it."""
        others = [(t, r) for t, r in self._runs if t != title]
        if title == self._current:
            self._runs = [(title, record)] + others
        else:
            self._runs = others + [(title, record)]
        self._rebuild()

    def clear(self) -> None:
        self._runs = []
        self._rebuild()

    def runs(self) -> list[tuple[str, dict]]:
        return list(self._runs)

    def metric_keys(self) -> list[str]:
        """The metric keys of the rows, top to bottom."""
        return list(self._keys)

    def row_item(self, key: str) -> QTableWidgetItem:
        """The name cell of metric `key`."""
        return self.table.item(self._keys.index(key), 0)

    def item(self, key: str, column: int) -> Optional[QTableWidgetItem]:
        return self.table.item(self._keys.index(key), column)

    def cell(self, metric: str, column: int) -> str:
        """The text in the row of metric key `metric`, column `column` (0: the name, then
        one per run, last: the real-data reference)."""
        item = self.item(metric, column)
        return item.text() if item is not None else ""

    # -- building -------------------------------------------------------------------------------

    def _rebuild(self) -> None:
        keys: list[str] = []
        for _, rec in self._runs:
            keys += [k for k in rec if k not in INFO_KEYS and k not in keys
                     and not k.endswith(REFERENCE_SUFFIXES)]
        self._keys = keys
        t = self.table
        t.clear()
        t.setColumnCount(len(self._runs) + 2)
        t.setRowCount(len(keys))
        t.setHorizontalHeaderItem(0, _header("Metric", "Hover a metric for what it measures; "
                                             "\u2191 higher is better, \u2193 lower is better"))
        for j, (title, rec) in enumerate(self._runs):
            text = f"{_wrap(title)}\nstep {rec.get('step', '?')}"
            tip = f"{rec.get('run') or title}\nstep {rec.get('step', '?')}, {rec.get('n', '?')} samples"
            t.setHorizontalHeaderItem(j + 1, _header(text, tip))
        real = len(self._runs) + 1
        t.setHorizontalHeaderItem(real, _header("Real data", "What real data (or a perfect model) "
                                                "scores on the same metric: the floor or "
                                                "ceiling to read each value against"))
        for i, key in enumerate(keys):
            info = metric_info(key)
            arrow = _ARROWS.get(info.better or "", "")
            name = QTableWidgetItem(f"{info.name} {arrow}".rstrip())
            direction = (f"{info.better.capitalize()} is better." if info.better
                         else "Neither higher nor lower is better in itself.")
            name.setToolTip("\n".join(p for p in (info.help, direction, f"key: {key}") if p))
            t.setItem(i, 0, name)
            for j, (_, rec) in enumerate(self._runs):
                v = rec.get(key)
                t.setItem(i, j + 1, _number("" if v is None else _fmt(v)))
            t.setItem(i, real, self._reference(key, info))
        self._fit_columns()
        if self._runs:
            rec = self._runs[0][1]
            scored = (f"test images translated: {_fmt(rec['translation/examples'])}"
                      if "translation/examples" in rec else f"samples scored: {rec.get('n', '?')}")
            self.caption.setText(f"{len(keys)} metrics of {self._runs[0][0]}; {scored}, seed "
                                 f"{rec.get('seed', '?')}. Hover a metric for what it measures.")
        elif self._current:
            self.caption.setText(f"No evaluation of {self._current} yet: press Evaluate (Ctrl+E).")
        else:
            self.caption.setText("No evaluation yet: press Evaluate (Ctrl+E).")

    def _fit_columns(self) -> None:
        """Every column as wide as its contents; when that is wider than the table, the
        metric names wrap in a narrower first column so the runs and the real-data column
        stay in view."""
        t = self.table
        hh = t.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeToContents)
        t.resizeColumnsToContents()
        total = sum(t.columnWidth(c) for c in range(t.columnCount()))
        room = t.viewport().width()
        if total > room and t.columnCount():
            hh.setSectionResizeMode(0, QHeaderView.Interactive)
            t.setColumnWidth(0, max(MIN_NAME_WIDTH, room - (total - t.columnWidth(0))))
        t.resizeRowsToContents()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if obj is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self._fit_columns()
        return super().eventFilter(obj, event)

    def _reference(self, key: str, info: Metric) -> QTableWidgetItem:
        """The reference from the current run's record (else a comparison's), a fixed value,
        or a dash that says there is none."""
        ref, note = info.reference, info.reference_help
        if ref is None:
            ref = next((key + s for s in REFERENCE_SUFFIXES
                        if any(key + s in rec for _, rec in self._runs)), None)
            note = note or "what real data scores at the same sample count"
        if isinstance(ref, str):
            ref = next((rec[ref] for _, rec in self._runs if ref in rec), None)
        if ref is None:
            item = _number(DASH)
            item.setTextAlignment(Qt.AlignCenter)
            item.setToolTip(NO_REFERENCE)
            return item
        item = _number(_fmt(ref))
        item.setToolTip(note)
        return item


def _header(text: str, tip: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setToolTip(tip)
    return item


def _number(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
    return item


def _wrap(title: str, width: int = HEADER_LINE) -> str:
    """Break a long run name at '-' or '_' into lines of about `width` characters, so
    headers stay narrow enough to sit side by side without being cut."""
    parts = re.split(r"(?<=[-_])", title)
    lines, line = [], ""
    for part in parts:
        if line and len(line) + len(part) > width:
            lines.append(line)
            line = ""
        line += part
    lines.append(line)
    return "\n".join(lines)


def _fmt(v) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if f != f:
        return "n/a"
    if f.is_integer() and abs(f) < 1e9:
        return f"{int(f)}"
    return f"{f:.4g}"


def main(argv: Optional[Sequence[str]] = None) -> int:  # pragma: no cover - manual preview
    from .preview import fake_evaluations, preview_app, preview_parser, show_or_grab

    args = preview_parser("Preview EvaluationTable with two fake runs.", "640x420").parse_args(argv)
    app = preview_app(args.dark)
    w = EvaluationTable()
    runs = fake_evaluations()
    w.set_current_run(runs[0][0])
    for name, record in runs:
        w.add_run(name, record)
    return show_or_grab(app, w, args.size, args.grab, settle=1)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
