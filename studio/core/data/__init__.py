"""Data sets (Qt-free). Every data set becomes a `Dataset`: train/test arrays plus a DataSpec.

Storage conventions (what the training loop relies on):
- images: uint8 arrays (N, C, H, W), 0..255; the loop converts each batch to float in [0, 1];
- points: float32 arrays (N, dim) in data coordinates;
- labels: int64 arrays (N,) or None.
"""
from __future__ import annotations

from .dataset import SKIP_KINDS, Dataset, DataError, ScanReport, SkippedFile
from .folder import scan_folder
from .registry import DATA_SOURCES, DataSource, data_source_names, load_dataset, make_options

__all__ = ["Dataset", "DataError", "ScanReport", "SkippedFile", "SKIP_KINDS", "DATA_SOURCES",
           "DataSource", "data_source_names", "load_dataset", "make_options", "scan_folder"]
