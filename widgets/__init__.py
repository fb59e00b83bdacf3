"""Dock panels: Qt + pyqtgraph + numpy. Never imports torch."""
