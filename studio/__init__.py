"""Generative Studio: the application (Qt-free core modules and, later, the Qt shell)."""
__version__ = "0.1.0"
