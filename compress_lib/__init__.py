"""Shared code of the neural-network compression workbook (one module per technique)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
