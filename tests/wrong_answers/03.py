"""Plausible wrong answers to notebook 03's code exercises: each must fail all its checks."""

WRONG = {
    # the T^2 factor is missing
    "ex1": """log_p, log_q = losses.log_softmax(zt, T), losses.log_softmax(zs, T)
return (np.exp(log_p) * (log_p - log_q)).sum(axis=-1)
""",
    # the (1 - y) mask is forgotten: the sum runs over every class
    "ex2": """return -tf.reduce_mean(tf.reduce_sum(tf.nn.log_softmax(zs), axis=-1))
""",
    # the batch mean of kd_loss is forgotten
    "ex3": """return (zs - zt) / zs.shape[1]
""",
    # the uncentred logits are used, for which the limit does not hold
    "ex4": """for T in [2.0, 5.0, 10.0, 20.0, 50.0, 100.0]:
    v = tf.Variable(zs_v.numpy())
    with tf.GradientTape() as tape:
        loss = losses.kd_loss(y_b, v, zt_b, T, 0.0)
    g, lim = tape.gradient(loss, v).numpy(), logit_matching_grad(zs_v.numpy(), zt_b)
    if np.linalg.norm(g - lim) / np.linalg.norm(lim) < 0.05:
        return T
""",
    # argmax over the wrong axis (over the examples instead of the classes)
    "ex6": """return float(np.mean(np.argmax(logits_a, axis=0) == np.argmax(logits_b, axis=0)))
""",
}
