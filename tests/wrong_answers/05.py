"""Plausible wrong answers for notebook 05's code exercises (replacing each solution region)."""

WRONG = {
    # depthwise filters counted over the output channels (N) instead of the input channels (M)
    "ex1": """positions = -(-h // stride) * -(-w // stride)
return positions * (k * k * n + m * n)
""",
    # the resolution multiplier forgotten: priced at 224 x 224 whatever the input
    "ex2": """grid = np.round(np.arange(0.25, 1.401, 0.05), 2)
fits = [a for a in grid if blocks.layout_cost(blocks.mobilenet_v2_table(a)).macs <= budget]
return float(max(fits))
""",
    # the strict inequality lost: the first t that is NOT cheaper
    "ex3": """return int(np.ceil(9 * m / (2 * m + 9)))
""",
    # the depthwise layer forgotten
    "ex4": """expand = m * t * m if t > 1 else 0
return expand + t * m * n
""",
    # every Conv2D counted as pointwise, whatever its kernel size
    "ex5": """macs = {"pointwise": 0, "depthwise": 0, "other": 0}
for row in measure.layer_costs(model, strict=True):
    layer = model.get_layer(row["layer"])
    if isinstance(layer, keras.layers.DepthwiseConv2D):
        macs["depthwise"] += row["macs"]
    elif isinstance(layer, keras.layers.Conv2D):
        macs["pointwise"] += row["macs"]
    else:
        macs["other"] += row["macs"]
total = sum(macs.values())
return {kind: value / total for kind, value in macs.items()}
""",
}
