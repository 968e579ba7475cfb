"""Plausible wrong answers to the code exercises of notebooks/02_quantization.ipynb."""

WRONG = {
    # the full range's 2^(b-1) used as q_max instead of the narrow range's 2^(b-1) - 1
    "ex1": """q_max = 2 ** (bits - 1)
scale = np.abs(x).max() / q_max
v = x / scale
return scale * np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5), -q_max, q_max)""",
    # the exponent's sign flipped (TFLite's shift is -n, not n)
    "ex2": """mantissa, shift = np.frexp(m)
m0 = int(np.round(mantissa * 2.0**31))
if m0 == 2**31:
    m0, shift = m0 // 2, shift + 1
return m0, -int(shift)""",
    # off by one in the number of centroids: 2^b - 1 instead of 2^b
    "ex3": """flat = w.ravel().astype(np.float64)
c = np.linspace(flat.min(), flat.max(), 2**bits - 1)
for _ in range(iters):
    idx = np.searchsorted((c[1:] + c[:-1]) / 2, flat)
    counts = np.bincount(idx, minlength=len(c))
    sums = np.bincount(idx, weights=flat, minlength=len(c))
    c = np.sort(np.where(counts > 0, sums / np.maximum(counts, 1), c))
return c[np.searchsorted((c[1:] + c[:-1]) / 2, flat)].reshape(w.shape)""",
    # 2^b levels counted instead of the 2^b - 1 steps between them
    "ex4": """q_min, q_max = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
lo, hi = min(float(x.min()), 0.0), max(float(x.max()), 0.0)
scale = (hi - lo) / 2**bits
return scale, int(np.round(q_min - lo / scale))""",
    # symmetric=True forgotten: the default affine grid has one more level
    "ex5": """quantized = ptq.map_weights(model, lambda w: q.fake_quantize(w, bits))
return models.accuracy(quantized, test)""",
}
