"""Image-to-image translation: pix2pix (paired), CycleGAN (unpaired), SRGAN (super-resolution).
What they share is in base.py."""
from .base import (TranslationEngine, check_translation_data, psnr, resize_bicubic, to_data,
                   to_net)

__all__ = ["TranslationEngine", "check_translation_data", "psnr", "resize_bicubic", "to_data",
           "to_net"]
