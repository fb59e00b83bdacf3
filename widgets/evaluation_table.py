"""EvaluationTable: the metrics of one or more runs side by side, with the real-data
reference (floor or ceiling) in its own column, so every number is read against what a
perfect model would get at the same sample count."""
from __future__ import annotations

import sys
from typing import Optional, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QPushButton,
                               QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

# Keys that describe the evaluation rather than measure the model.
INFO_KEYS = ("run", "engine", "step", "seed", "n", "test_examples")
# metric key -> key of its real-data reference, and what the reference means
REFERENCE_SUFFIXES = (("_floor", "floor"), ("_real", "real data"))
LOWER_IS_BETTER = ("quality/fd", "coverage/kl", "modes/reverse_kl", "test/recon", "test/kl",
                   "test/mse")


class EvaluationTable(QWidget):
    compare_requested = Signal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("EvaluationTable")
        self._runs: list[tuple[str, dict]] = []
        lay = QVBoxLayout(self)
        self.caption = QLabel("No evaluation yet: press Evaluate (Ctrl+E).")
        self.caption.setWordWrap(True)
        lay.addWidget(self.caption)
        self.table = QTableWidget(0, 0, self)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        lay.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.compare_button = QPushButton("Add run to compare...")
        self.compare_button.clicked.connect(self.compare_requested)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        row.addWidget(self.compare_button)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        lay.addLayout(row)

    def set_runs(self, runs: Sequence[tuple[str, dict]]) -> None:
        """runs: (column title, evaluation record) pairs; the first is the current run."""
        self._runs = list(runs)
        self._rebuild()

    def add_run(self, title: str, record: dict) -> None:
        self._runs = [(t, r) for t, r in self._runs if t != title] + [(title, record)]
        self._rebuild()

    def clear(self) -> None:
        self._runs = []
        self._rebuild()

    def runs(self) -> list[tuple[str, dict]]:
        return list(self._runs)

    def cell(self, metric: str, column: int) -> str:
        rows = [self.table.item(r, 0).text() for r in range(self.table.rowCount())]
        item = self.table.item(rows.index(metric), column)
        return item.text() if item is not None else ""

    def _rebuild(self) -> None:
        metrics: list[str] = []
        refs: dict[str, str] = {}
        for _, rec in self._runs:
            for k in rec:
                if k in INFO_KEYS or k in metrics:
                    continue
                if any(k.endswith(suf) for suf, _ in REFERENCE_SUFFIXES):
                    continue
                metrics.append(k)
        for k in metrics:
            for suf, _ in REFERENCE_SUFFIXES:
                if any(k + suf in rec for _, rec in self._runs):
                    refs[k] = k + suf
        headers = ["Metric"] + [f"{t}\nstep {r.get('step', '?')}" for t, r in self._runs] + ["Real data"]
        self.table.clear()
        self.table.setColumnCount(len(headers))
        self.table.setRowCount(len(metrics))
        self.table.setHorizontalHeaderLabels(headers)
        for i, k in enumerate(metrics):
            name = QTableWidgetItem(k)
            hint = ("lower is better" if k in LOWER_IS_BETTER else "")
            name.setToolTip(hint)
            self.table.setItem(i, 0, name)
            for j, (_, rec) in enumerate(self._runs):
                v = rec.get(k)
                item = QTableWidgetItem("" if v is None else _fmt(v))
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                self.table.setItem(i, j + 1, item)
            if k in refs:
                ref_vals = [rec[refs[k]] for _, rec in self._runs if refs[k] in rec]
                item = QTableWidgetItem(_fmt(ref_vals[-1]))
                item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
                item.setToolTip("what real data scores at the same sample count "
                                "(train vs test split)")
                self.table.setItem(i, len(headers) - 1, item)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeToContents)
        for c in range(1, len(headers)):
            hh.setSectionResizeMode(c, QHeaderView.Stretch)
        if self._runs:
            rec = self._runs[0][1]
            self.caption.setText(f"{len(metrics)} metrics; samples scored: {rec.get('n', '?')}, "
                                 f"seed {rec.get('seed', '?')}. Hover a metric for its direction.")
        else:
            self.caption.setText("No evaluation yet: press Evaluate (Ctrl+E).")


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


def _main(argv: list[str]) -> int:
    import argparse

    from PySide6.QtWidgets import QApplication
    p = argparse.ArgumentParser()
    p.add_argument("--grab")
    args = p.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    w = EvaluationTable()
    base = {"step": 3000, "n": 10000, "seed": 0, "test/elbo": -100.36, "quality/fd": 4.1,
            "quality/fd_floor": 0.21, "quality/precision": 0.81, "quality/precision_floor": 0.9,
            "quality/classifier_score": 9.1, "quality/classifier_score_real": 9.9,
            "coverage/classes": 10, "coverage/kl": 0.012}
    w.set_runs([("vae-mnist", base), ("reference", {**base, "quality/fd": 9.3, "test/elbo": -108.2})])
    w.resize(640, 380)
    w.show()
    if args.grab:
        app.processEvents()
        w.grab().save(args.grab)
        return 0
    return app.exec()


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
