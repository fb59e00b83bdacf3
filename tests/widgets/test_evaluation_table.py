"""EvaluationTable: the current run's column, readable metric names, the real-data column,
headers that are not clipped."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from widgets.evaluation_table import EvaluationTable, NO_REFERENCE

# as studio/core/evaluation.py writes them (an MNIST VAE, then a ring8 GAN)
VAE = {"run": "/runs/vae-mnist-20260101-120000", "engine": "vae", "step": 3000, "seed": 0,
       "n": 10000, "test/elbo": -100.36, "test/recon": 80.2, "test/kl": 20.1, "test/mse": 0.03,
       "likelihood/iwae_k64": -97.5, "likelihood/elbo_k1": -100.4, "likelihood/examples": 1000.0,
       "quality/fd": 4.1, "quality/fd_floor": 0.21, "quality/precision": 0.81,
       "quality/precision_floor": 0.9, "quality/recall": 0.6, "quality/recall_floor": 0.88,
       "quality/classifier_score": 9.1, "quality/classifier_score_real": 9.9,
       "coverage/classes": 10.0, "coverage/kl": 0.012, "quality/samples": 10000.0}
GAN = {"run": "/runs/gan-ring8", "engine": "gan", "step": 500, "seed": 0, "n": 2500,
       "gan/d_real_test": 0.61, "gan/d_fake_test": 0.42, "modes/captured": 6.0,
       "modes/total": 8.0, "modes/high_quality": 0.7, "modes/reverse_kl": 0.3,
       "modes/samples": 2500.0}


@pytest.fixture
def table(qtbot):
    w = EvaluationTable()
    qtbot.addWidget(w)
    return w


def titles(t):
    return [title for title, _ in t.runs()]


def test_opening_another_run_drops_the_previous_runs_columns(table):
    """The table kept the previous run's column after another run opened."""
    table.add_run("vae-a", VAE)
    table.add_run("other", GAN)
    table.set_current_run("vae-b")
    assert table.runs() == [] and table.table.rowCount() == 0
    assert "vae-b" in table.caption.text() and "Evaluate" in table.caption.text()
    table.add_run("ring", GAN)                    # a comparison: after the current run
    table.add_run("vae-b", VAE)                   # the current run's evaluation: first
    assert titles(table) == ["vae-b", "ring"]
    table.add_run("vae-b", {**VAE, "quality/fd": 3.0})
    assert titles(table) == ["vae-b", "ring"] and table.cell("quality/fd", 1) == "3"
    table.set_current_run("vae-c", VAE)           # a run that was evaluated before
    assert titles(table) == ["vae-c"] and table.cell("quality/fd", 1) == "4.1"
    table.clear()
    assert table.runs() == []


def test_metrics_have_readable_names_directions_and_tooltips(table):
    table.set_runs([("vae", VAE), ("gan", GAN)])
    fd = table.row_item("quality/fd")
    assert fd.text().startswith("Frechet distance (evaluator features)")
    assert "lower is better" in fd.toolTip().lower() and "quality/fd" in fd.toolTip()
    assert "higher is better" in table.row_item("quality/classifier_score").toolTip().lower()
    assert table.row_item("likelihood/iwae_k64").text().startswith("Importance-weighted bound")
    assert "k = 64" in table.row_item("likelihood/iwae_k64").text()
    keys = table.metric_keys()
    # references and bookkeeping are not rows of their own
    for k in ("quality/fd_floor", "quality/samples", "modes/total", "modes/samples",
              "likelihood/examples", "run", "n"):
        assert k not in keys, k
    table.add_run("odd", {"step": 1, "custom/thing": 2.5})
    assert table.row_item("custom/thing").text() == "custom/thing"     # unknown: the key


def test_the_real_data_column_is_filled_or_says_why_not(table):
    """The real-data column was empty for most rows."""
    table.set_runs([("vae", VAE), ("gan", GAN)])
    real = table.table.columnCount() - 1
    assert table.table.horizontalHeaderItem(real).text() == "Real data"
    assert table.cell("quality/fd", real) == "0.21"
    assert table.cell("quality/precision", real) == "0.9"
    assert table.cell("quality/classifier_score", real) == "9.9"
    assert table.cell("coverage/kl", real) == "0"                 # the data's own histogram
    assert table.cell("modes/captured", real) == "8"              # every mode
    assert table.cell("modes/high_quality", real) == "0.989"      # 3 sigma of a Gaussian in 2D
    assert table.cell("modes/reverse_kl", real) == "0"
    for key in ("test/elbo", "gan/d_real_test", "likelihood/iwae_k64"):
        assert table.cell(key, real) == "\u2014", key
        assert table.item(key, real).toolTip() == NO_REFERENCE
    assert "floor" in table.item("quality/fd", real).toolTip()
    empty = [r for r in range(table.table.rowCount()) if not table.table.item(r, real).text()]
    assert empty == []


@pytest.mark.parametrize("size", [(480, 420), (900, 500)])
def test_headers_and_names_are_not_clipped(qtbot, table, size):
    table.set_runs([("vae-mnist-20260101-120000", VAE), ("gan-ring8-pacgan-20260101-130000", GAN)])
    table.resize(*size)
    table.show()
    qtbot.waitExposed(table)
    QApplication.processEvents()
    hh = table.table.horizontalHeader()
    fm = hh.fontMetrics()
    for c in range(table.table.columnCount()):
        text = table.table.horizontalHeaderItem(c).text()
        lines = text.split("\n")
        need = max(fm.horizontalAdvance(line) for line in lines)
        assert hh.sectionSize(c) >= need + 8, (text, hh.sectionSize(c), need)
        assert hh.height() >= len(lines) * fm.lineSpacing(), (text, hh.height())
        assert table.table.horizontalHeaderItem(c).toolTip()
    assert "vae-mnist-20260101-120000" in table.table.horizontalHeaderItem(1).toolTip()
    # metric names are whole: on one line, or wrapped in a row tall enough
    t = table.table
    one_line = t.columnWidth(0) >= t.sizeHintForColumn(0)
    for r in range(t.rowCount()):
        assert t.rowHeight(r) >= t.sizeHintForRow(r), t.item(r, 0).text()
    assert one_line == (size[0] >= 900)
    # and the real-data column is in view, beside the runs
    real = t.columnCount() - 1
    assert t.columnViewportPosition(real) + t.columnWidth(real) <= t.viewport().width() + 1
