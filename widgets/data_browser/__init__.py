"""Data set browser: pick a source, set its options, load; browse images or 2D points.

`DataBrowserPanel` knows nothing of the studio: it is filled with `SourceInfo`s and
`DatasetView`s (widgets/viewmodels.py) and says what the person wants through signals:

    load_requested(str, dict)   source name and its options ("folder", {"path": ..., ...})
    image_picked(int)           index into the full training array (double-click or menu)

Images are shown in a virtualised grid (`widgets.thumbnails.ThumbnailModel`): thumbnails
are built only for painted rows and cached, so 60,000 MNIST digits scroll smoothly and the
class filter only swaps an index array. Points are drawn with one pyqtgraph scatter
(a random subset of 20,000 when there are more).

Preview: `python -m widgets.data_browser [--points] [--grab OUT.png] [--size 800x600]`.

The package, by concern: paths (what a dropped file is; no Qt), views (counts bar, thumbnail
view, class colours), sources and dataset (mixins of the panel: what to load, what was
loaded) and panel (DataBrowserPanel, its status line and preview). Every name below is
importable from `widgets.data_browser` as before.
"""
from .dataset import MAX_SCATTER_POINTS
from .panel import ERROR_COLOR, MAX_STATUS_LINES, MAX_TOOLTIP_LINES, DataBrowserPanel, main
from .paths import DROP_HINT, idx_labels_sibling, idx_request, is_idx_name, request_for_paths
from .views import CANVAS_BG, MUTED_STYLE, ClassCountsBar, ThumbnailView, class_color

__all__ = ["DataBrowserPanel", "DROP_HINT", "MAX_SCATTER_POINTS", "idx_labels_sibling", "idx_request",
           "is_idx_name", "request_for_paths", "main", "CANVAS_BG", "ClassCountsBar", "ERROR_COLOR",
           "MAX_STATUS_LINES", "MAX_TOOLTIP_LINES", "MUTED_STYLE", "ThumbnailView", "class_color"]
