"""Plausible wrong answers to the code exercises of notebooks/01_losses.ipynb."""

WRONG = {
    # the sign of the z*y term flipped
    "ex1": "return np.maximum(z, 0) + z * y + np.log1p(np.exp(-np.abs(z)))",
    # bisection on log T, but the result is returned without exponentiating back
    "ex2": """lo, hi = np.log(1e-2), np.log(1e4)
for _ in range(100):
    mid = (lo + hi) / 2
    if losses.softmax(z, np.exp(mid)).max() > target:
        lo = mid
    else:
        hi = mid
return float((lo + hi) / 2)""",
    # eps added to every class instead of eps / K: the targets no longer sum to one
    "ex3": "return (1 - eps) * losses.one_hot(labels, num_classes) + eps",
    # the chain rule's 1/T forgotten
    "ex4": "return losses.softmax(z, t) - losses.one_hot(labels, z.shape[-1])",
    # the fraction of overflowing entries instead of overflowing rows
    "ex5": """with np.errstate(over="ignore"):
    e = np.exp(z.astype(np.float16))
return float(np.isinf(e).mean())""",
}
