"""Shared code of the neural-network compression workbook (one module per job).

Importing the package sets nothing and imports no TensorFlow; notebooks call
`compress_lib.config.setup()` first. The module map is in ARCHITECTURE.md.
"""

__version__ = "0.1.0"
