"""Bad-input probes for the numeric modules (issue #11, "silent wrong answers").

Every public function of losses, quantization, models, distillation, data, tables, coding
and integer is called with bad input (wrong shapes or dtypes, NaN/inf, empty arrays,
out-of-range parameters, None, bools). Each probe asserts the exception type and that the
message names the argument. Cases marked SILENT returned a wrong answer before the fix.
"""

from types import SimpleNamespace

import numpy as np
import pytest

from compress_lib import coding
from compress_lib import data
from compress_lib import integer
from compress_lib import losses
from compress_lib import quantization as q
from compress_lib import tables

NAN = np.array([[0.0, np.nan], [1.0, 2.0]])
INF = np.array([[0.0, np.inf], [1.0, 2.0]])
W = np.linspace(-1.0, 1.0, 24).reshape(3, 8)
Z4 = np.arange(40, dtype=np.float64).reshape(4, 10) / 10  # four rows of ten logits
Y4 = np.array([0, 1, 2, 3])
QP8 = q.calibrate(W, 8, axis=1)  # eight channels along axis 1
QP = q.calibrate(W, 8)
HUF = coding.huffman_code(np.array([2, 1, 0]))  # symbols 0 and 1 coded, 2 never occurs
BOOK, IDX = np.array([0.0, 0.5, -1.0]), np.array([0, 1, 2, 0, 0, 1])  # a tiny shared layer
LAYER = integer.IntDense(np.ones((3, 2), np.int8), np.zeros(2, np.int64), 0.1, 0,
                         np.full(2, 0.1), 0.1, 0, False)

# (id, call, exception type, regex the message must match). `c` holds the keras fixtures.
NUMPY_CASES = [
    # ---- losses
    ("naive_softmax-str", lambda c: losses.naive_softmax(np.array([["a", "b"]])), TypeError,
     "logits"),
    ("naive_softmax-empty", lambda c: losses.naive_softmax(np.zeros((0,))), ValueError, "logits"),
    ("naive_softmax-nan", lambda c: losses.naive_softmax(NAN), ValueError, "logits"),
    ("naive_softmax-none", lambda c: losses.naive_softmax(None), TypeError, "logits"),
    ("logsumexp-inf", lambda c: losses.logsumexp(INF), ValueError, "logits"),
    ("logsumexp-scalar", lambda c: losses.logsumexp(3.0), ValueError, "logits"),
    ("logsumexp-bool", lambda c: losses.logsumexp(np.array([True, False])), TypeError, "logits"),
    ("log_softmax-nan", lambda c: losses.log_softmax(NAN), ValueError, "logits"),
    ("log_softmax-T-bool", lambda c: losses.log_softmax(Z4, True), TypeError, "temperature"),
    ("log_softmax-T-zero", lambda c: losses.log_softmax(Z4, 0.0), ValueError, "temperature"),
    ("softmax-empty", lambda c: losses.softmax(np.zeros((2, 0))), ValueError, "logits"),
    ("softmax-object", lambda c: losses.softmax(np.array([[None, 1]])), TypeError, "logits"),
    ("softmax-T-inf", lambda c: losses.softmax(Z4, np.inf), ValueError, "temperature"),
    ("one_hot-float", lambda c: losses.one_hot(np.array([0.5, 1.0]), 3), TypeError, "labels"),
    ("one_hot-bool", lambda c: losses.one_hot(np.array([True, False]), 3), TypeError, "labels"),
    ("one_hot-range", lambda c: losses.one_hot(np.array([0, 3]), 3), ValueError, "labels"),
    ("one_hot-negative", lambda c: losses.one_hot(np.array([-1]), 3), ValueError, "labels"),
    ("one_hot-classes-bool", lambda c: losses.one_hot(Y4, True), TypeError, "num_classes"),
    ("one_hot-none", lambda c: losses.one_hot(None, 3), TypeError, "labels"),
    ("cross_entropy-shape", lambda c: losses.cross_entropy(np.ones((4, 1)), np.ones((4, 10)) / 10),
     ValueError, "labels and probs"),
    ("cross_entropy-nan", lambda c: losses.cross_entropy(np.ones((2, 2)) / 2, NAN), ValueError,
     "probs"),
    # SILENT: negative "labels" gave a negative cross-entropy
    ("cross_entropy-neg-labels", lambda c: losses.cross_entropy(-np.ones((1, 2)),
                                                                np.full((1, 2), 0.5)),
     ValueError, "labels"),
    ("seed_cross_entropy-1d", lambda c: losses.seed_cross_entropy(Y4, Z4[0] / 10), ValueError,
     "probs"),
    ("seed_cross_entropy-float-labels", lambda c: losses.seed_cross_entropy(Y4 + 0.5, Z4 / 4),
     TypeError, "labels"),
    ("seed_cross_entropy-shape", lambda c: losses.seed_cross_entropy(Y4[:2], Z4 / 4), ValueError,
     "labels"),
    ("softmax_ce-shape", lambda c: losses.softmax_cross_entropy(Y4[:, None], Z4), ValueError,
     "labels shape"),
    ("softmax_ce-float", lambda c: losses.softmax_cross_entropy(Y4 + 0.5, Z4), TypeError,
     "labels"),
    ("softmax_ce-1d-logits", lambda c: losses.softmax_cross_entropy(Y4, Z4[0]), ValueError,
     "logits"),
    # SILENT: one label for four rows was used for every row
    ("softmax_ce_grad-one-label", lambda c: losses.softmax_cross_entropy_grad(np.array([1]), Z4),
     ValueError, "labels shape"),
    ("softmax_ce_grad-column", lambda c: losses.softmax_cross_entropy_grad(Y4[:, None], Z4),
     ValueError, "labels shape"),
    ("softmax_ce_grad-nan", lambda c: losses.softmax_cross_entropy_grad(Y4[:2], NAN),
     ValueError, "logits"),
    # SILENT: entropy of logits (values outside [0, 1]) was returned as a number
    ("entropy-logits", lambda c: losses.entropy(np.array([[2.0, -1.0]])), ValueError, "probs"),
    ("entropy-nan", lambda c: losses.entropy(NAN), ValueError, "probs"),
    ("entropy-str", lambda c: losses.entropy("abc"), TypeError, "probs"),
    # ---- quantization
    ("qrange-bits-bool", lambda c: q.qrange(True), TypeError, "bits"),
    ("qrange-bits-17", lambda c: q.qrange(17), ValueError, "bits"),
    # SILENT: symmetric="no" (truthy) chose the narrow range
    ("qrange-symmetric-str", lambda c: q.qrange(8, "no"), TypeError, "symmetric"),
    ("value_range-list-axis", lambda c: q.value_range([[1.0, 2.0]], axis=2), ValueError, "axis"),
    ("value_range-nan", lambda c: q.value_range(NAN), ValueError, "x"),
    ("value_range-method", lambda c: q.value_range(W, method="max"), ValueError, "method"),
    ("value_range-percentile", lambda c: q.value_range(W, method="percentile", percentile=40),
     ValueError, "percentile"),
    ("calibrate-empty", lambda c: q.calibrate(np.zeros(0)), ValueError, "x"),
    ("calibrate-inf", lambda c: q.calibrate(INF), ValueError, "x"),
    ("calibrate-bool-array", lambda c: q.calibrate(np.ones(3, bool)), TypeError, "x"),
    ("calibrate-bits-0", lambda c: q.calibrate(W, bits=0), ValueError, "bits"),
    ("calibrate-bits-float", lambda c: q.calibrate(W, bits=8.0), TypeError, "bits"),
    ("calibrate-axis-3", lambda c: q.calibrate(W, axis=3), ValueError, "axis"),
    ("calibrate-axis-bool", lambda c: q.calibrate(W, axis=True), TypeError, "axis"),
    ("calibrate-symmetric-int", lambda c: q.calibrate(W, symmetric=1), TypeError, "symmetric"),
    ("calibrate-none", lambda c: q.calibrate(None), TypeError, "x"),
    # SILENT: 8-channel parameters on a 1-column array returned 8 columns
    ("quantize-channels", lambda c: q.quantize(W[:, :1], QP8), ValueError, "qp"),
    ("quantize-channels-transposed", lambda c: q.quantize(W.T, QP8), ValueError, "qp"),
    ("quantize-qp-none", lambda c: q.quantize(W, None), TypeError, "qp"),
    ("quantize-nan", lambda c: q.quantize(NAN, QP), ValueError, "x"),
    ("quantize-str", lambda c: q.quantize(np.array(["a"]), QP), TypeError, "x"),
    ("dequantize-channels", lambda c: q.dequantize(np.zeros((3, 1), np.int32), QP8), ValueError,
     "qp"),
    # SILENT: fractional codes were dequantized as if they were on the grid
    ("dequantize-float", lambda c: q.dequantize(np.full((3, 8), 0.5), QP8), TypeError, "q"),
    # SILENT: codes outside [qmin, qmax] were dequantized to values the grid cannot hold
    ("dequantize-range", lambda c: q.dequantize(np.full((3, 8), 300), QP8), ValueError, "q"),
    ("dequantize-qp", lambda c: q.dequantize(np.zeros(3, np.int32), "qp"), TypeError, "qp"),
    ("fake_quantize-nan", lambda c: q.fake_quantize(NAN), ValueError, "x"),
    ("fake_quantize-bits", lambda c: q.fake_quantize(W, bits=1, symmetric=True), ValueError,
     "bits"),
    # SILENT: (24,) vs (24, 1) broadcast to a 24x24 difference (mse 1.55 for equal numbers)
    ("mse-broadcast", lambda c: q.mse(W.ravel(), W.reshape(-1, 1)), ValueError, "theta"),
    ("mse-nan", lambda c: q.mse(NAN, NAN), ValueError, "theta"),
    ("mse-bool", lambda c: q.mse(True, False), TypeError, "theta"),
    ("quantization_error-broadcast", lambda c: q.quantization_error(W.ravel(), W.reshape(-1, 1)),
     ValueError, "theta"),
    ("quantization_error-empty", lambda c: q.quantization_error([], []), ValueError, "theta"),
    ("sqnr_db-broadcast", lambda c: q.sqnr_db(W.ravel(), W.reshape(-1, 1)), ValueError, "theta"),
    ("sqnr_db-inf", lambda c: q.sqnr_db(W, np.full_like(W, np.inf)), ValueError, "theta_q"),
    ("uniform_noise_mse-none", lambda c: q.uniform_noise_mse(None), TypeError, "qp"),
    ("round_half_away-str", lambda c: q.round_half_away(np.array(["a"])), TypeError, "v"),
    ("round_half_away-nan", lambda c: q.round_half_away(np.array([np.nan])), ValueError, "v"),
    ("binarize-nan", lambda c: q.binarize(NAN), ValueError, "w"),
    ("binarize-axis", lambda c: q.binarize(W, axis=-3), ValueError, "axis"),
    ("ternarize-threshold", lambda c: q.ternarize(W, threshold=2.0), ValueError, "threshold"),
    ("ternarize-empty", lambda c: q.ternarize(np.zeros((0, 3))), ValueError, "w"),
    ("kmeans-bits-bool", lambda c: q.kmeans_quantize(W, True), TypeError, "bits"),
    ("kmeans-iters", lambda c: q.kmeans_quantize(W, 2, iters=-1), ValueError, "iters"),
    ("kmeans-inf", lambda c: q.kmeans_quantize(INF, 2), ValueError, "w"),
    # SILENT: an index >= n_clusters made the result longer than n_clusters
    ("centroid_grad-index-range", lambda c: q.centroid_gradients(np.ones(2), np.array([0, 5]), 3),
     ValueError, "indices"),
    ("centroid_grad-float-index", lambda c: q.centroid_gradients(np.ones(2), np.array([0.0, 1.5]),
                                                                  3), TypeError, "indices"),
    ("centroid_grad-nan", lambda c: q.centroid_gradients(np.array([np.nan, 1]), np.array([0, 1]),
                                                          3), ValueError, "grad"),
    ("centroid_grad-shape", lambda c: q.centroid_gradients(np.ones(3), np.array([0, 1]), 3),
     ValueError, "grad and indices"),
    # ---- tables
    ("text_table-empty", lambda c: tables.text_table([]), ValueError, "rows"),
    ("text_table-not-dicts", lambda c: tables.text_table([1, 2]), TypeError, "rows"),
    # SILENT: columns="ab" made the columns "a" and "b"
    ("text_table-columns-str", lambda c: tables.text_table([{"ab": 1}], columns="ab"), TypeError,
     "columns"),
    ("show-dict", lambda c: tables.show({"a": 1}), ValueError, "rows"),
    ("select-not-dicts", lambda c: tables.select([1, 2], a=1), TypeError, "rows"),
    ("format_bytes-negative", lambda c: tables.format_bytes(-1), ValueError, "n"),
    ("format_bytes-float", lambda c: tables.format_bytes(1.5), TypeError, "n"),
    ("mean_std-empty", lambda c: tables.mean_std([]), ValueError, "values"),
    ("mean_std-2d", lambda c: tables.mean_std([[1.0, 2.0]]), ValueError, "values"),
    # SILENT: a NaN value gave a NaN mean; bools were averaged as 0/1
    ("mean_std-nan", lambda c: tables.mean_std([1.0, float("nan")]), ValueError, "values"),
    ("mean_std-bool", lambda c: tables.mean_std([True, False]), TypeError, "values"),
    ("mean_std-str", lambda c: tables.mean_std(["1", "2"]), TypeError, "values"),
    ("paired-mismatched-seeds", lambda c: tables.paired_differences(
        [{"seed": 0, "v": 1}], [{"seed": 1, "v": 2}], "v"), ValueError, "seed"),
    # SILENT: a duplicated seed in either group was silently paired twice / dropped
    ("paired-duplicate-a", lambda c: tables.paired_differences(
        [{"seed": 0, "v": 1}, {"seed": 0, "v": 3}], [{"seed": 0, "v": 2}, {"seed": 1, "v": 2}],
        "v"), ValueError, "rows_a"),
    ("paired-duplicate-b", lambda c: tables.paired_differences(
        [{"seed": 0, "v": 1}, {"seed": 1, "v": 3}],
        [{"seed": 0, "v": 2}, {"seed": 0, "v": 5}, {"seed": 1, "v": 2}], "v"), ValueError,
     "rows_b"),
    ("paired-missing-column", lambda c: tables.paired_differences(
        [{"seed": 0}], [{"seed": 0, "v": 2}], "v"), ValueError, "rows_a"),
    ("paired-none-value", lambda c: tables.paired_differences(
        [{"seed": 0, "v": None}], [{"seed": 0, "v": 2}], "v"), TypeError, "rows_a"),
    ("paired-nan-value", lambda c: tables.paired_differences(
        [{"seed": 0, "v": 1.0}], [{"seed": 0, "v": float("nan")}], "v"), ValueError, "rows_b"),
    ("paired-empty", lambda c: tables.paired_differences([], [], "v"), TypeError, "rows_a"),
    ("pareto_front-str", lambda c: tables.pareto_front("points"), TypeError, "points"),
    ("pareto_front-keys", lambda c: tables.pareto_front([{"accuracy": 0.9}]), ValueError,
     r"points\[0\] lacks the keys"),
    ("pareto_front-x", lambda c: tables.pareto_front([], x="params"), ValueError, "x"),
    ("stream_entropy-list", lambda c: coding.stream_entropy([]), TypeError, "codes"),
    ("stream_entropy-array", lambda c: coding.stream_entropy({"a": W}), TypeError, "codes"),
    # ---- coding
    ("address_bits-0", lambda c: coding.address_bits(0), ValueError, "n"),
    ("address_bits-bool", lambda c: coding.address_bits(True), TypeError, "n"),
    ("csr_encode-empty", lambda c: coding.csr_encode(np.zeros((0, 3))), ValueError, "w"),
    ("csr_encode-nan", lambda c: coding.csr_encode(NAN), ValueError, "w"),
    ("csr_encode-str", lambda c: coding.csr_encode(np.array(["a"])), TypeError, "w"),
    ("csr_decode-none", lambda c: coding.csr_decode(None), TypeError, "csr"),
    ("csr_bits-array", lambda c: coding.csr_bits(W), TypeError, "csr"),
    ("csr_bits-value-bits", lambda c: coding.csr_bits(coding.csr_encode(W), 0), ValueError,
     "value_bits"),
    ("relative_encode-bits", lambda c: coding.relative_encode(W, 0), ValueError, "index_bits"),
    ("relative_encode-bits-bool", lambda c: coding.relative_encode(W, True), TypeError,
     "index_bits"),
    ("relative_encode-inf", lambda c: coding.relative_encode(INF), ValueError, "w"),
    ("relative_decode-csr", lambda c: coding.relative_decode(coding.csr_encode(W)), TypeError,
     "code"),
    ("relative_bits-none", lambda c: coding.relative_bits(None), TypeError, "code"),
    ("relative_bits-value-bits", lambda c: coding.relative_bits(coding.relative_encode(W), 65),
     ValueError, "value_bits"),
    ("gzip_size-str", lambda c: coding.gzip_size("abc"), TypeError, "data"),
    ("gzip_size-level", lambda c: coding.gzip_size(b"abc", 10), ValueError, "level"),
    ("gzip_array_bytes-str", lambda c: coding.gzip_array_bytes(np.array(["a"])), TypeError, "w"),
    # SILENT: an empty array was reported as a 20-byte gzip file
    ("gzip_array_bytes-empty", lambda c: coding.gzip_array_bytes([]), ValueError, "w"),
    ("sparse_storage-empty", lambda c: coding.sparse_storage(np.zeros(0)), ValueError, "w"),
    ("sparse_storage-value-bits", lambda c: coding.sparse_storage(W, value_bits=0), ValueError,
     "value_bits"),
    ("model_storage-none", lambda c: coding.model_storage(None), TypeError, "model"),
    ("keras_file_bytes-none", lambda c: coding.keras_file_bytes("m"), TypeError, "model"),
    ("huffman_code-empty", lambda c: coding.huffman_code(np.zeros(0, int)), ValueError, "counts"),
    ("huffman_code-one-symbol", lambda c: coding.huffman_code(np.array([0, 7, 0])), ValueError,
     "counts"),
    ("huffman_code-negative", lambda c: coding.huffman_code(np.array([3, -1])), ValueError,
     "counts"),
    ("huffman_code-float", lambda c: coding.huffman_code(np.array([1.5, 2.0])), TypeError,
     "counts"),
    ("huffman_code-nan", lambda c: coding.huffman_code(np.array([1.0, np.nan])), TypeError,
     "counts"),
    ("huffman_code-bool", lambda c: coding.huffman_code(np.array([True, True])), TypeError,
     "counts"),
    ("huffman_encode-no-code", lambda c: coding.huffman_encode(np.array([2]), HUF), ValueError,
     "symbols"),
    ("huffman_encode-negative", lambda c: coding.huffman_encode(np.array([-1]), HUF), ValueError,
     "symbols"),
    ("huffman_encode-float", lambda c: coding.huffman_encode(np.array([0.0]), HUF), TypeError,
     "symbols"),
    ("huffman_encode-code", lambda c: coding.huffman_encode(np.array([0]), None), TypeError,
     "code"),
    ("huffman_decode-truncated", lambda c: coding.huffman_decode(b"", 3, HUF), ValueError, "data"),
    ("huffman_decode-str", lambda c: coding.huffman_decode("0", 1, HUF), TypeError, "data"),
    ("huffman_decode-n-bool", lambda c: coding.huffman_decode(b"\0", True, HUF), TypeError,
     "n_symbols"),
    ("huffman_bits-size", lambda c: coding.huffman_bits(np.ones(2, int), HUF), ValueError,
     "counts"),
    ("huffman_bits-uncoded", lambda c: coding.huffman_bits(np.ones(3, int), HUF), ValueError,
     "counts"),
    ("entropy-zeros", lambda c: coding.entropy(np.zeros(3, int)), ValueError, "counts"),
    ("entropy-nan", lambda c: coding.entropy(np.array([np.nan, 1.0])), TypeError, "counts"),
    ("encode_layer-bits-0", lambda c: coding.encode_layer(BOOK, IDX, None, 0), ValueError,
     "weight_bits"),
    ("encode_layer-bits-17", lambda c: coding.encode_layer(BOOK, IDX, None, 17), ValueError,
     "weight_bits"),
    ("encode_layer-bits-bool", lambda c: coding.encode_layer(BOOK, IDX, None, True), TypeError,
     "weight_bits"),
    ("encode_layer-index-bits-17", lambda c: coding.encode_layer(BOOK, IDX, None, 2, 17),
     ValueError, "index_bits"),
    ("encode_layer-codebook-zero", lambda c: coding.encode_layer(BOOK + 1, IDX, None, 2),
     ValueError, "codebook"),
    ("encode_layer-codebook-nan", lambda c: coding.encode_layer([0, np.nan, 1], IDX, None, 2),
     ValueError, "codebook"),
    ("encode_layer-codebook-size", lambda c: coding.encode_layer(BOOK, IDX, None, 1), ValueError,
     "codebook"),
    ("encode_layer-indices-range", lambda c: coding.encode_layer(BOOK, IDX + 1, None, 2),
     ValueError, "indices"),
    ("encode_layer-indices-empty", lambda c: coding.encode_layer(BOOK, IDX[:0], None, 2),
     ValueError, "indices"),
    ("encode_layer-bias-nan", lambda c: coding.encode_layer(BOOK, IDX, [np.nan], 2), ValueError,
     "bias"),
    ("encode_layer-one-symbol", lambda c: coding.encode_layer(BOOK, np.ones(4, int), None, 2),
     ValueError, "weight"),
    ("decode_layer-array", lambda c: coding.decode_layer(IDX), TypeError, "code"),
    ("layer_bits-none", lambda c: coding.layer_bits(None), TypeError, "code"),
    ("compressed_size-empty", lambda c: coding.compressed_size({}), ValueError, "codes"),
    ("compressed_size-list", lambda c: coding.compressed_size([1]), TypeError, "codes"),
    ("compressed_size-value", lambda c: coding.compressed_size({"fc": IDX}), TypeError, "codes"),
    # ---- integer
    ("quantize_multiplier-neg", lambda c: integer.quantize_multiplier(np.array([-0.5])),
     ValueError, "m"),
    ("quantize_multiplier-nan", lambda c: integer.quantize_multiplier(np.array([np.nan])),
     ValueError, "m"),
    ("quantize_multiplier-str", lambda c: integer.quantize_multiplier("a"), TypeError, "m"),
    # SILENT: a fractional accumulator was truncated to an integer
    ("mbqm-float-acc", lambda c: integer.multiply_by_quantized_multiplier(
        np.array([10.7]), np.array([2**30]), np.array([0])), TypeError, "acc"),
    ("mbqm-float-m0", lambda c: integer.multiply_by_quantized_multiplier(
        np.array([10]), np.array([0.5]), np.array([0])), TypeError, "m0"),
    # SILENT: a shift beyond 30 shifted by a negative amount (garbage)
    ("mbqm-shift-range", lambda c: integer.multiply_by_quantized_multiplier(
        np.array([10]), np.array([2**30]), np.array([40])), ValueError, "shift"),
    ("mbqm-rounding", lambda c: integer.multiply_by_quantized_multiplier(
        np.array([10]), np.array([2**30]), np.array([0]), "triple"), ValueError, "rounding"),
    ("int_dense-layer", lambda c: integer.int_dense_forward(None, np.zeros((1, 3), np.int8)),
     TypeError, "layer"),
    # SILENT: float inputs were truncated inside the int32 accumulation
    ("int_dense-float-x", lambda c: integer.int_dense_forward(LAYER, np.full((1, 3), 0.5)),
     TypeError, "x_q"),
    ("int_dense-range-x", lambda c: integer.int_dense_forward(LAYER, np.full((1, 3), 300)),
     ValueError, "x_q"),
    ("int_dense-shape-x", lambda c: integer.int_dense_forward(LAYER, np.zeros((1, 4), np.int8)),
     ValueError, "x_q"),
    ("int_network-empty", lambda c: integer.int_network_forward([], np.zeros((1, 3))), TypeError,
     "layers"),
    ("int_network-shape-x", lambda c: integer.int_network_forward([LAYER], np.zeros((1, 5))),
     ValueError, "x"),
    ("int_network-nan-x", lambda c: integer.int_network_forward([LAYER], NAN), ValueError, "x"),
    ("int_network-1d-x", lambda c: integer.int_network_forward([LAYER], np.zeros(3)), ValueError,
     "x"),
    ("int_from_tflite-str", lambda c: integer.int_network_from_tflite("model.tflite"), TypeError,
     "buffer"),
    ("litert_check-buffer", lambda c: integer.litert_check(None, (np.zeros((1, 3)), [0]), "m"),
     TypeError, "buffer"),
    ("litert_check-name", lambda c: integer.litert_check(b"", (np.zeros((1, 3)), [0]), 3),
     TypeError, "name"),
    ("litert_check-labels", lambda c: integer.litert_check(b"", (np.zeros((2, 3)), np.ones((2, 1),
                                                                                           int)),
                                                           "m"), ValueError, "y must have shape"),
    # ---- data
    ("load_mnist-n_train-0", lambda c: data.load_mnist(n_train=0), ValueError, "n_train"),
    ("load_mnist-n_train-big", lambda c: data.load_mnist(n_train=60001), ValueError, "n_train"),
    ("load_mnist-n_train-float", lambda c: data.load_mnist(n_train=10.0), TypeError, "n_train"),
    ("load_mnist-n_test-bool", lambda c: data.load_mnist(n_test=True), TypeError, "n_test"),
    ("load_mnist-seed-neg", lambda c: data.load_mnist(seed=-1), ValueError, "seed"),
    ("load_mnist-seed-none", lambda c: data.load_mnist(seed=None), TypeError, "seed"),
    # SILENT: flatten="no" (truthy) flattened the images
    ("load_mnist-flatten-str", lambda c: data.load_mnist(flatten="no"), TypeError, "flatten"),
    ("load_mnist-download-int", lambda c: data.load_mnist(allow_download=1), TypeError,
     "allow_download"),
    ("load_mnist-path-int", lambda c: data.load_mnist(path=3), TypeError, "path"),
    ("load_mnist-path-missing", lambda c: data.load_mnist(path="/nonexistent/mnist.npz"),
     FileNotFoundError, "MNIST file not found at /nonexistent"),
    ("sha256_file-none", lambda c: data.sha256_file(None), TypeError, "path"),
    # SILENT: an int path opened that file descriptor
    ("sha256_file-int", lambda c: data.sha256_file(0), TypeError, "path"),
    ("verify-expected-int", lambda c: data.verify(data.MNIST_PATH, 5), TypeError, "expected"),
    ("verify-expected-short", lambda c: data.verify(data.MNIST_PATH, "abc"), ValueError,
     "expected"),
]


def _kd(fn, labels=Y4, zs=Z4, zt=Z4, **kwargs):
    """Call a KD loss with the given pieces (keras imported lazily by the loss)."""
    return lambda c: fn(labels, zs, zt, **kwargs)


KD_CASES = [
    # SILENT: NaN logits gave a NaN loss (the numpy losses reject them)
    ("kd_loss-nan-student", _kd(losses.kd_loss, zs=np.full((4, 10), np.nan)), ValueError,
     "student_logits"),
    ("kd_loss-inf-teacher", _kd(losses.kd_loss, zt=np.full((4, 10), np.inf)), ValueError,
     "teacher_logits"),
    # SILENT: fractional labels were truncated to integers
    ("kd_loss-float-labels", _kd(losses.kd_loss, labels=np.array([0.5, 1.7, 2.0, 3.2])),
     TypeError, "labels"),
    ("kd_loss-bool-labels", _kd(losses.kd_loss, labels=np.array([True, False, True, False])),
     TypeError, "labels"),
    ("kd_loss-label-range", _kd(losses.kd_loss, labels=np.array([0, 1, 2, 10])), ValueError,
     "labels"),
    ("kd_loss-label-negative", _kd(losses.kd_loss, labels=np.array([0, 1, 2, -1])), ValueError,
     "labels"),
    ("kd_loss-label-column", _kd(losses.kd_loss, labels=Y4[:, None]), ValueError, "labels"),
    ("kd_loss-shape", _kd(losses.kd_loss, zt=Z4[:, :5]), ValueError, "teacher_logits"),
    ("kd_loss-alpha", _kd(losses.kd_loss, alpha=1.5), ValueError, "alpha"),
    ("kd_loss-alpha-bool", _kd(losses.kd_loss, alpha=True), TypeError, "alpha"),
    ("kd_loss-temperature", _kd(losses.kd_loss, temperature=0.0), ValueError, "temperature"),
    ("kd_loss-none", _kd(losses.kd_loss, zs=None), TypeError, "student_logits"),
    ("kd_terms-nan", _kd(losses.kd_terms, zt=np.full((4, 10), np.nan), temperature=2.0),
     ValueError, "teacher_logits"),
    ("kd_terms-float-labels", _kd(losses.kd_terms, labels=Y4 + 0.5, temperature=2.0), TypeError,
     "labels"),
    ("kd_terms-temperature-str", _kd(losses.kd_terms, temperature="4"), TypeError, "temperature"),
    ("seed_kd_loss-nan", _kd(losses.seed_kd_loss, zs=np.full((4, 10), np.nan)), ValueError,
     "student_logits"),
    ("seed_kd_loss-float-labels", _kd(losses.seed_kd_loss, labels=Y4 + 0.5), TypeError, "labels"),
    ("seed_kd_loss-shape", _kd(losses.seed_kd_loss, zt=Z4[:, :5]), ValueError,
     "teacher_logits"),
]


def _eager(array):
    """An eager TensorFlow tensor."""
    import tensorflow as tf

    return tf.constant(array)


KD_CASES += [
    ("kd_loss-eager-nan", lambda c: losses.kd_loss(Y4, _eager(np.full((4, 10), np.nan)), Z4),
     ValueError, "student_logits"),
    ("kd_loss-eager-float-labels", lambda c: losses.kd_loss(_eager(Y4 + 0.5), Z4, Z4), TypeError,
     "labels"),
]


def _train(c, **kwargs):
    """models.train on the tiny data with overrides."""
    from compress_lib import models

    args = {"model": c.model, "data": (c.x, c.y), "epochs": 1, "progress": False, **kwargs}
    return models.train(**args)


def _distill(c, **kwargs):
    """distillation.distill on the tiny data with overrides."""
    from compress_lib import distillation

    args = {"student": c.model, "teacher": c.model, "data": (c.x, c.y), "epochs": 1,
            "progress": False, **kwargs}
    return distillation.distill(**args)


def _m():
    """compress_lib.models (imports keras)."""
    from compress_lib import models

    return models


def _d():
    """compress_lib.distillation (imports keras)."""
    from compress_lib import distillation

    return distillation


MODEL_CASES = [
    # ---- models
    ("mlp-hidden-int", lambda c: _m().mlp(128), TypeError, "hidden"),
    ("mlp-hidden-zero", lambda c: _m().mlp((0,)), ValueError, r"hidden\[0\]"),
    ("mlp-hidden-bool", lambda c: _m().mlp((True,)), TypeError, r"hidden\[0\]"),
    # SILENT: a third dropout rate was ignored
    ("mlp-dropout-triple", lambda c: _m().mlp((4,), dropout=(0.1, 0.2, 0.3)), TypeError,
     "dropout"),
    ("mlp-dropout-one", lambda c: _m().mlp((4,), dropout=1.0), TypeError, "dropout"),
    ("mlp-dropout-range", lambda c: _m().mlp((4,), dropout=(1.0, 0.0)), ValueError,
     r"dropout\[0\]"),
    ("hinton_teacher-dropout-str", lambda c: _m().hinton_teacher("no"), TypeError, "dropout"),
    ("hinton_student-width", lambda c: _m().hinton_student(0), ValueError, "width"),
    ("hinton_student-width-bool", lambda c: _m().hinton_student(True), TypeError, "width"),
    ("EpochBar-epochs", lambda c: _m().EpochBar(0), ValueError, "epochs"),
    ("progress-int", lambda c: _m().progress(5), TypeError, "iterable"),
    ("add_l2-negative", lambda c: _m().add_l2(c.model, -1.0), ValueError, "l2"),
    ("add_l2-model", lambda c: _m().add_l2(None, 0.1), TypeError, "model"),
    ("predict_logits-str", lambda c: _m().predict_logits(c.model, np.array(["a"])), TypeError,
     "x"),
    ("predict_logits-nan", lambda c: _m().predict_logits(c.model, np.full((2, 784), np.nan)),
     ValueError, "x"),
    ("predict_logits-batch", lambda c: _m().predict_logits(c.model, c.x, 0), ValueError,
     "batch_size"),
    ("predict_logits-model", lambda c: _m().predict_logits("m", c.x), TypeError, "model"),
    ("accuracy-column-labels", lambda c: _m().accuracy(c.model, (c.x, c.y[:, None])), ValueError,
     r"shape \(n,\)"),
    ("accuracy-one-hot", lambda c: _m().accuracy(c.model, (c.x, np.eye(10, dtype=int)[c.y])),
     ValueError, r"shape \(n,\)"),
    ("accuracy-float-labels", lambda c: _m().accuracy(c.model, (c.x, c.y.astype(float))),
     TypeError, "y"),
    # SILENT: labels beyond the model's classes just counted as errors
    ("accuracy-label-range", lambda c: _m().accuracy(c.model, (c.x, c.y + 10)), ValueError, "y"),
    ("accuracy-label-negative", lambda c: _m().accuracy(c.model, (c.x, c.y - 10)), ValueError,
     "y"),
    ("accuracy-nan-x", lambda c: _m().accuracy(c.model, (np.full_like(c.x, np.nan), c.y)),
     ValueError, "x"),
    ("accuracy-lengths", lambda c: _m().accuracy(c.model, (c.x, c.y[:-1])), ValueError, "y"),
    ("accuracy-data-triple", lambda c: _m().accuracy(c.model, (c.x, c.y, c.y)), TypeError,
     "data"),
    ("accuracy-data-none", lambda c: _m().accuracy(c.model, None), TypeError, "data"),
    ("accuracy-scalar-x", lambda c: _m().accuracy(c.model, (3.0, c.y)), ValueError, "x"),
    ("accuracy-empty", lambda c: _m().accuracy(c.model, (c.x[:0], c.y[:0])), ValueError, "x"),
    ("train-nan-x", lambda c: _train(c, data=(np.full_like(c.x, np.nan), c.y)), ValueError, "x"),
    ("train-column-labels", lambda c: _train(c, data=(c.x, c.y[:, None])), ValueError,
     r"shape \(n,\)"),
    # SILENT: validation data was never checked (NaN inputs gave NaN metrics)
    ("train-validation-nan", lambda c: _train(c, validation_data=(np.full_like(c.x, np.nan),
                                                                  c.y)),
     ValueError, "validation_data's x"),
    ("train-validation-triple", lambda c: _train(c, validation_data=(c.x, c.y, c.y)), TypeError,
     "validation_data"),
    # labels beyond the model's 10 logits (NaN or garbage loss on accelerators)
    ("train-label-range", lambda c: _train(c, data=(c.x, c.y + 10)), ValueError, "y"),
    ("train-validation-label-range", lambda c: _train(c, validation_data=(c.x, c.y + 10)),
     ValueError, "validation_data"),
    ("distill-label-range", lambda c: _distill(c, data=(c.x, c.y + 10)), ValueError, "y"),
    ("train-epochs-bool", lambda c: _train(c, epochs=True), TypeError, "epochs"),
    ("train-batch-zero", lambda c: _train(c, batch_size=0), ValueError, "batch_size"),
    ("train-lr-nan", lambda c: _train(c, learning_rate=float("nan")), ValueError,
     "learning_rate"),
    ("train-schedule", lambda c: _train(c, schedule="linear"), ValueError, "schedule"),
    ("train-model-none", lambda c: _train(c, model=None), TypeError, "model"),
    ("train-progress-str", lambda c: _train(c, progress="no"), TypeError, "progress"),
    ("train-callbacks", lambda c: _train(c, callbacks=3), TypeError, "callbacks"),
    # ---- distillation
    ("Jitter-shift", lambda c: _d().Jitter(14), ValueError, "max_shift"),
    ("Jitter-shift-bool", lambda c: _d().Jitter(True), TypeError, "max_shift"),
    ("Jitter-seed", lambda c: _d().Jitter(2, seed=-1), ValueError, "seed"),
    ("with_jitter-model", lambda c: _d().with_jitter(None), TypeError, "model"),
    ("Distiller-student", lambda c: _d().Distiller(None, c.model), TypeError, "student"),
    ("Distiller-temperature", lambda c: _d().Distiller(c.model, c.model, temperature=-1.0),
     ValueError, "temperature"),
    ("Distiller-loss_fn", lambda c: _d().Distiller(c.model, c.model, loss_fn=3), TypeError,
     "loss_fn"),
    ("distill-nan-x", lambda c: _distill(c, data=(np.full_like(c.x, np.nan), c.y)), ValueError,
     "x"),
    ("distill-nan-teacher-logits", lambda c: _distill(c, teacher_logits=np.full((len(c.x), 10),
                                                                                 np.nan)),
     ValueError, "teacher_logits"),
    ("distill-teacher-logits-3d", lambda c: _distill(c, teacher_logits=np.zeros((len(c.x), 10,
                                                                                  1))),
     ValueError, "teacher_logits"),
    ("distill-teacher-logits-rows", lambda c: _distill(c, teacher_logits=np.zeros((3, 10))),
     ValueError, "teacher_logits"),
    ("distill-alpha", lambda c: _distill(c, alpha=1.5), ValueError, "alpha"),
    ("distill-alpha-bool", lambda c: _distill(c, alpha=False), TypeError, "alpha"),
    ("distill-labels-column", lambda c: _distill(c, data=(c.x, c.y[:, None])), ValueError,
     r"shape \(n,\)"),
    ("count_errors-column", lambda c: _d().count_errors(c.model, (c.x, c.y[:, None])), ValueError,
     r"shape \(n,\)"),
    ("count_errors-one-hot", lambda c: _d().count_errors(c.model, (c.x, np.eye(10, dtype=int)[
        c.y])), ValueError, r"shape \(n,\)"),
    ("count_errors-label-range", lambda c: _d().count_errors(c.model, (c.x, c.y + 10)),
     ValueError, "y"),
    ("count_errors-nan", lambda c: _d().count_errors(c.model, (np.full_like(c.x, np.inf), c.y)),
     ValueError, "x"),
    ("train_seeded-build", lambda c: _d().train_seeded(3, 0, (c.x, c.y), 1), TypeError, "build"),
    ("student_run-loss", lambda c: _d().student_run({"loss": "mse", "seed": 0, "epochs": 1},
                                                   lambda: c.model, (c.x, c.y), {"t": (c.x, c.y)}),
     ValueError, r"cfg\['loss'\]"),
    ("student_run-teacher", lambda c: _d().student_run(
        {"loss": "kd", "seed": 0, "epochs": 1}, lambda: c.model, (c.x, c.y), {"t": (c.x, c.y)}),
     ValueError, "teacher"),
    ("student_run-evals-x", lambda c: _d().student_run({"loss": "ce", "seed": 0, "epochs": 1},
                                                      lambda: c.model, (c.x, c.y), {"t": c.x}),
     TypeError, r"evals\['t'\]"),
    ("student_run-evals-list", lambda c: _d().student_run({"loss": "ce", "seed": 0, "epochs": 1},
                                                         lambda: c.model, (c.x, c.y), [(c.x, c.y)]),
     TypeError, "evals"),
    ("train_seeded-seed", lambda c: _d().train_seeded(lambda: c.model, -1, (c.x, c.y), 1),
     ValueError, "seed"),
    ("train_seeded-teacher", lambda c: _d().train_seeded(lambda: c.model, 0, (c.x, c.y), 1,
                                                         teacher="t"), TypeError, "teacher"),
    # ---- coding and integer with a model
    ("storage_summary-tflite", lambda c: coding.storage_summary(c.model, "x"), TypeError,
     "tflite"),
    ("int_from_keras-model", lambda c: integer.int_network_from_keras(None, c.x), TypeError,
     "model"),
    ("int_from_keras-nan", lambda c: integer.int_network_from_keras(c.model, np.full_like(
        c.x, np.nan)), ValueError, "calibration"),
]


@pytest.fixture(scope="module")
def ctx():
    """A tiny flat-MNIST model (784-4-10) and eight labelled examples."""
    import keras

    from compress_lib import models

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    return SimpleNamespace(model=models.mlp((4,), name="tiny"),
                           x=rng.random((8, 784)).astype(np.float32), y=np.arange(8) % 10)


def _named(match: str) -> str:
    """A plain argument name must appear as a whole word; other patterns are used as given."""
    return rf"\b{match}\b" if match.isidentifier() else match


def _ids(cases):
    """The case names."""
    return [case[0] for case in cases]


@pytest.mark.parametrize(("name", "call", "exc", "match"), NUMPY_CASES, ids=_ids(NUMPY_CASES))
def test_numpy_probe(name, call, exc, match):
    """Bad input to a numpy-level function raises exc with a message naming the argument."""
    with pytest.raises(exc, match=_named(match)):
        call(None)


@pytest.mark.parametrize(("name", "call", "exc", "match"), KD_CASES, ids=_ids(KD_CASES))
def test_kd_probe(name, call, exc, match):
    """Bad concrete input to a distillation loss raises exc naming the argument."""
    with pytest.raises(exc, match=_named(match)):
        call(None)


@pytest.mark.parametrize(("name", "call", "exc", "match"), MODEL_CASES, ids=_ids(MODEL_CASES))
def test_model_probe(ctx, name, call, exc, match):
    """Bad input to a model-level function raises exc with a message naming the argument."""
    with pytest.raises(exc, match=_named(match)):
        call(ctx)


def test_probes_cover_every_public_function():
    """Every public function or class of the probed modules appears in at least one probe."""
    import inspect

    from compress_lib import distillation
    from compress_lib import models

    names = " ".join(case[0] for case in NUMPY_CASES + KD_CASES + MODEL_CASES).lower()
    without_arguments = {"lenet5", "lenet_300_100", "seed_mlp", "format_cell", "ChecksumError",
                         "QParams", "IntDense", "CSR", "RelativeIndex",
                         "Huffman", "LayerCode"}
    short = {"softmax_cross_entropy": "softmax_ce", "softmax_cross_entropy_grad": "softmax_ce_grad",
             "multiply_by_quantized_multiplier": "mbqm", "int_dense_forward": "int_dense",
             "int_network_forward": "int_network", "int_network_from_tflite": "int_from_tflite",
             "int_network_from_keras": "int_from_keras", "centroid_gradients": "centroid_grad",
             "kmeans_quantize": "kmeans", "paired_differences": "paired"}
    for module in (losses, q, models, distillation, data, tables, coding, integer):
        for name in module.__all__:
            obj = getattr(module, name)
            if name in without_arguments or not callable(obj) or not (
                    inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            assert f"{short.get(name, name).lower()}-" in names, f"{module.__name__}.{name}"


def test_kd_losses_are_not_checked_inside_a_traced_step():
    """Inside tf.function the inputs are symbolic: the value checks are skipped, not failed."""
    import tensorflow as tf

    traced = tf.function(lambda y, zs, zt: losses.kd_loss(y, zs, zt, 4.0, 0.1))
    value = traced(tf.constant(Y4), tf.constant(Z4, tf.float32), tf.constant(Z4, tf.float32))
    assert float(value) == pytest.approx(float(losses.kd_loss(Y4, Z4, Z4, 4.0, 0.1)), rel=1e-6)


def test_good_inputs_keep_their_values():
    """The checks change nothing on good inputs (per-channel round trip, mse, one_hot)."""
    assert q.mse(W, W) == 0.0
    np.testing.assert_array_equal(q.dequantize(q.quantize(W, QP8), QP8).shape, W.shape)
    np.testing.assert_array_equal(losses.one_hot(np.array([0, 2]), 3), [[1, 0, 0], [0, 0, 1]])
    assert tables.mean_std([1, 2, 3]) == (2.0, 1.0)
    assert tables.paired_differences([{"seed": 0, "v": 1}], [{"seed": 0, "v": 3}], "v") == [2.0]
