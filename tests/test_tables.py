"""Tests of compress_lib.tables: byte counts in binary units and the Pareto front."""

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from compress_lib import tables


@pytest.mark.parametrize(("n", "text"), [(0, "0 B"), (1023, "1023 B"), (49152, "48 KiB"),
                                         (1 << 20, "1 MiB"), (1_070_000, "1.02 MiB"),
                                         (9_437_184, "9 MiB"), (3 << 30, "3 GiB")])
def test_format_bytes(n, text):
    assert tables.format_bytes(n) == text


def _point(model, accuracy, size, source="measured"):
    """A model point as results.model_points returns them (no latency)."""
    return {"notebook": "02", "table": "02_x", "model": model, "accuracy": accuracy,
            "bytes": size, "latency_ms": None, "source": source}


def test_pareto_front_keeps_undominated_measured_points():
    pts = [_point(name, acc, size, source) for name, acc, size, source in (
        ("a", 0.90, 10, "measured"), ("b", 0.95, 20, "measured"), ("c", 0.94, 30, "measured"),
        ("d", 0.95, 20, "measured"), ("e", 0.99, 5, "paper"), ("f", 0.97, 40, "measured"))]
    assert [p["model"] for p in tables.pareto_front(pts)] == ["a", "b", "d", "f"]
    assert tables.pareto_front(pts, x="latency_ms") == []  # no point has a latency


def test_pareto_front_bad_input():
    with pytest.raises(TypeError, match="points must be a list"):
        tables.pareto_front("points")
    with pytest.raises(TypeError, match=r"points\[0\] must be a dict"):
        tables.pareto_front([1])
    with pytest.raises(ValueError, match=r"points\[0\] lacks the keys \['bytes'"):
        tables.pareto_front([{"notebook": "01", "table": "t", "model": "m", "accuracy": 0.9,
                               "latency_ms": 1.0, "source": "measured"}])
    good = _point("m", 0.9, 10)
    with pytest.raises(ValueError, match=r"points\[0\]'s source must be one of"):
        tables.pareto_front([{**good, "source": "guess"}])
    with pytest.raises(ValueError, match=r"points\[0\]'s bytes must be"):
        tables.pareto_front([{**good, "bytes": 0}])
    with pytest.raises(ValueError, match="x must be one of"):
        tables.pareto_front([good], x="params")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 6), st.integers(0, 5),
                          st.sampled_from(["measured", "measured", "paper"])), max_size=12))
def test_pareto_front_matches_brute_force(raw):
    pts = [_point(str(i), acc / 10, size, source)
           for i, (size, acc, source) in enumerate(raw)]
    measured = [p for p in pts if p["source"] == "measured"]

    def beaten(p):
        return any(q["bytes"] <= p["bytes"] and q["accuracy"] >= p["accuracy"]
                   and (q["bytes"] < p["bytes"] or q["accuracy"] > p["accuracy"])
                   for q in measured)
    front = tables.pareto_front(pts)
    assert sorted(p["model"] for p in front) == sorted(p["model"] for p in measured
                                                        if not beaten(p))
    assert [p["bytes"] for p in front] == sorted(p["bytes"] for p in front)
