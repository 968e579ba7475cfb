"""Plausible wrong answers for notebook 06's code exercises (replacing each solution region)."""

WRONG = {
    # symbols that never occur are coded too
    "ex1": """heap = list(counts)
heapq.heapify(heap)
total = 0
while len(heap) > 1:
    merged = heapq.heappop(heap) + heapq.heappop(heap)
    total += merged
    heapq.heappush(heap, merged)
return total
""",
    # the biases forgotten in the compressed size
    "ex2": """original = 32 * (weights + biases)
compressed = entries * (weight_bits + index_bits) + 32 * codebook_size
return original / compressed
""",
    # the codebooks forgotten
    "ex3": """fits = [b for b in range(2, 9) if sum(entries) * b <= budget_bits]
return max(fits) if fits else None
""",
    # a filler counted as covering 2**b - 1 slots (its own slot forgotten)
    "ex4": """positions = np.flatnonzero(w)
gaps = np.diff(positions, prepend=-1) - 1
return int(positions.size + np.sum(gaps // (2 ** index_bits - 1)))
""",
}
