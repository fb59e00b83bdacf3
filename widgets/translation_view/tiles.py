"""Rows of tiles (the flow view's TileRows: a label per row, captions under the tiles, one
scale for all) that say which tile was clicked and where in it."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal

from ..flow_view.tiles import TileRow, TileRows

__all__ = ["ClickableTiles", "TileRow"]


class ClickableTiles(TileRows):
    tile_clicked = Signal(int, int, float, float)     # row, column, x and y as fractions

    def __init__(self, name: str, parent=None):
        super().__init__(name, parent)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def tile_at(self, x: float, y: float):
        for ri, r in enumerate(self.rows()):
            for i in range(len(r.qimages)):
                rect = self.tile_rect(ri, i)
                if rect.contains(x, y):
                    return ri, i, (x - rect.left()) / rect.width(), (y - rect.top()) / rect.height()
        return None

    def mousePressEvent(self, e) -> None:  # noqa: N802 - Qt override
        hit = self.tile_at(e.position().x(), e.position().y())
        if hit is not None and e.button() == Qt.MouseButton.LeftButton:
            self.tile_clicked.emit(*hit)
        super().mousePressEvent(e)
