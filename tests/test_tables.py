"""Tests of compress_lib.tables: byte counts in binary units."""

import pytest

from compress_lib import tables


@pytest.mark.parametrize(("n", "text"), [(0, "0 B"), (1023, "1023 B"), (49152, "48 KiB"),
                                         (1 << 20, "1 MiB"), (1_070_000, "1.02 MiB"),
                                         (9_437_184, "9 MiB"), (3 << 30, "3 GiB")])
def test_format_bytes(n, text):
    assert tables.format_bytes(n) == text
