"""Plausible wrong answers to notebook 04's code exercises: each must fail all its checks."""

WRONG = {
    # ties broken the other way: the earlier weight is kept
    "ex1": """order = np.argsort(-np.abs(w).ravel(), kind="stable")
keep = np.zeros(w.size, dtype=bool)
keep[order[:k]] = True
return keep.reshape(w.shape)
""",
    # off by one in the bit count: a filler taken to cover 2**k - 1 positions
    "ex2": """gaps = np.diff(positions, prepend=-1) - 1
return int(len(positions) + (gaps // (2 ** k - 1)).sum())
""",
    # the output layer's MACs are forgotten
    "ex3": """return 784 * h1 + h1 * h2
""",
    # only fc1 is narrowed: fc2 keeps its 100 neurons
    "ex4": """return max(h for h in range(1, 301) if lenet_macs(h, 100) <= lenet_macs(300, 100) / 4)
""",
    # keeps the sparsity fraction instead of 1 - sparsity
    "ex6": """k = max(1, round(w.size * sparsity))
keep = np.zeros(w.size, dtype=bool)
keep[rng.permutation(w.size)[:k]] = True
return keep.reshape(w.shape)
""",
    # the masks are computed but never applied
    "ex7": """pruned = graph.copy_model(dense)
pruned.set_weights(base_weights)
return models.accuracy(pruned, (x_test, y_test))
""",
}
