"""Pixels of grabbed widgets as numpy arrays, for the render tests."""
import numpy as np
from PySide6.QtGui import QImage


def to_array(img: QImage) -> np.ndarray:
    """(H, W, 3) uint8 copy of a QImage (the copy outlives the image)."""
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    w, h, bpl = img.width(), img.height(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), np.uint8, count=bpl * h).reshape(h, bpl)
    return buf[:, :w * 3].reshape(h, w, 3).copy()
