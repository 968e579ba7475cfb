"""Private and version-sensitive TensorFlow / Keras / LiteRT APIs, in one place.

No other module touches a private attribute (tests/test_structure.py greps for it). Each
function names the version it was checked against and what would replace it.
"""

from __future__ import annotations

from typing import Any


def ops_details(interp: Any) -> list[dict]:
    """The operators of a LiteRT interpreter, in execution order.

    Checked against ai-edge-litert 2.x: `Interpreter._get_ops_details()` is private. Would be
    replaced by a public op-listing API, or by parsing the flatbuffer with the tflite schema.
    """
    return interp._get_ops_details()


def disable_per_channel(converter: Any) -> None:
    """Make the TFLite converter use one weight scale per tensor instead of per channel.

    Checked against TF 2.21: the converter's `_experimental_disable_per_channel*` flags are
    private. Would be replaced by a public per-tensor option of the converter.
    """
    converter._experimental_disable_per_channel = True
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True


def has_fused_relu(tensor_detail: dict) -> bool:
    """Whether a FULLY_CONNECTED output tensor comes from an op with a fused ReLU.

    Checked against TF 2.21 / LiteRT 2.x: the converter names such tensors '...Relu...' and
    the op's fused activation is not exposed by the interpreter. Would be replaced by the
    op's `fused_activation_function` read from the flatbuffer schema.
    """
    return "Relu" in tensor_detail["name"]


def reset_train_function(model: Any) -> None:
    """Make Keras re-trace fit's train step (after constraints were attached to weights).

    Checked against Keras 3.15 (TensorFlow backend): `model.train_function` caches the traced
    step and setting it to None forces `make_train_function` to rebuild it. Would be replaced
    by a public way to invalidate the compiled step.
    """
    if hasattr(model, "train_function"):
        model.train_function = None


def in_symbolic_build() -> bool:
    """Whether Keras is calling a layer on symbolic inputs only to infer output shapes.

    Checked against Keras 3.15: `keras.src.backend.common.symbolic_scope.in_symbolic_scope`
    is private (compute_output_spec enters it). Would be replaced by a public flag, or by
    checking for keras.KerasTensor inputs if Keras passed them through unchanged.
    """
    from keras.src.backend.common.symbolic_scope import in_symbolic_scope

    return bool(in_symbolic_scope())


def op_determinism_enabled() -> bool:
    """Whether TensorFlow's op determinism is on in this process (False before TF is imported).

    Checked against TF 2.21: `is_op_determinism_enabled` lives in the private module
    `tensorflow.python.framework.config` (only the setter is public). Would be replaced by a
    public `tf.config.experimental.is_op_determinism_enabled`.
    """
    import sys

    if "tensorflow" not in sys.modules:
        return False
    from tensorflow.python.framework import config as tf_config

    return bool(tf_config.is_op_determinism_enabled())
