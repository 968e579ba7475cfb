"""Shared test setup: quiet TensorFlow, quick profile, results kept out of results/."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("COMPRESS_PROFILE", "quick")
