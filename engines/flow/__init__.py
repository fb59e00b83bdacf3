"""Normalising flows: Glow on images, RealNVP-style couplings on points (see engine.py)."""
from .config import FlowConfig
from .engine import FlowEngine, held_out_key

__all__ = ["FlowConfig", "FlowEngine", "held_out_key"]
