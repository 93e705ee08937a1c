"""The operators of a `.tflite` file, read with LiteRT's own schema.

Imports neither Keras nor TensorFlow: only `ai_edge_litert` (its generated
flatbuffer schema), so phone-side tools can use it too.
"""

import re

# Operators that a stock LiteRT interpreter without the Flex delegate or a
# custom op resolver cannot run.
NOT_BUILTIN = re.compile(r"^(Flex\w*|CUSTOM\b.*|\w*SelfAdjointEig\w*)$")


class NotBuiltinError(ValueError):
    """A `.tflite` model with Flex, custom or eigensolver ops."""


def _builtin_names():
    from ai_edge_litert import schema_py_generated as schema

    return {
        value: name
        for name, value in vars(schema.BuiltinOperator).items()
        if not name.startswith("_")
    }


def _operator_codes(model):
    """The operator name of each operator code of a parsed model."""
    names = _builtin_names()
    codes = []
    for i in range(model.OperatorCodesLength()):
        code = model.OperatorCodes(i)
        builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
        name = names.get(builtin, f"BUILTIN_{builtin}")
        if name == "CUSTOM" and code.CustomCode():
            name = code.CustomCode().decode()
        codes.append(name)
    return codes


def layer_of(tensor_name):
    """The Keras layer name in a converted tensor name, or the name itself.

    Converted tensors are named after the TensorFlow ops that made them,
    `model/layer/op`, several joined by ';' after fusion.
    """
    first = tensor_name.split(";")[0]
    parts = [p for p in first.split("/") if p]
    return parts[1] if len(parts) >= 3 else first


def read_ops(model_content):
    """Every operator of every subgraph (loop bodies included).

    Args:
        model_content: the `.tflite` file's bytes.

    Returns:
        list of `(op_name, tensor_name)`: the builtin name (`"MUL"`), or for
        custom operators their custom code (`"FlexSelfAdjointEigV2"`), with
        the name of the operator's first output tensor.

    Example:
    >>> import pathlib
    >>> from keras_pmm.export import tflite_ops
    >>> path = pathlib.Path("pmm_mnist.tflite")
    >>> ops = tflite_ops.read_ops(path.read_bytes())  # doctest: +SKIP
    >>> sorted({op for op, _ in ops})[:3]  # doctest: +SKIP
    ['ABS', 'ADD', 'BATCH_MATMUL']
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(bytearray(model_content), 0)
    codes = _operator_codes(model)
    ops = []
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        for o in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(o)
            tensor = ""
            if op.OutputsLength() and op.Outputs(0) >= 0:
                raw = subgraph.Tensors(op.Outputs(0)).Name()
                tensor = raw.decode() if raw else ""
            ops.append((codes[op.OpcodeIndex()], tensor))
    return ops


def read_subgraphs(model_content):
    """The operators of each subgraph, with their output tensors' types.

    Subgraph 0 is the model's main graph; a `WHILE` loop's condition and
    body are subgraphs of their own (the Jacobi eigensolver's loop).

    Args:
        model_content: the `.tflite` file's bytes.

    Returns:
        list of `(subgraph_name, [(op_name, output_type), ...])` in file
        order, op names as in `read_ops` and output types as LiteRT's
        `TensorType` names (`"FLOAT32"`, `"INT8"`; `""` for an operator
        without outputs).
    """
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAs(bytearray(model_content), 0)
    codes = _operator_codes(model)
    types = {
        value: name
        for name, value in vars(schema.TensorType).items()
        if not name.startswith("_")
    }
    subgraphs = []
    for g in range(model.SubgraphsLength()):
        subgraph = model.Subgraphs(g)
        ops = []
        for o in range(subgraph.OperatorsLength()):
            op = subgraph.Operators(o)
            dtype = ""
            if op.OutputsLength() and op.Outputs(0) >= 0:
                dtype = types[subgraph.Tensors(op.Outputs(0)).Type()]
            ops.append((codes[op.OpcodeIndex()], dtype))
        subgraphs.append(((subgraph.Name() or b"").decode(), ops))
    return subgraphs


def check_builtin_ops(model_content):
    """Raises unless every operator is a builtin a plain interpreter runs.

    Args:
        model_content: the `.tflite` file's bytes.

    Returns:
        The sorted names of the model's operators, when all are builtins.

    Raises:
        NotBuiltinError: naming each Flex, custom or `SelfAdjointEig*`
            operator and the layer it came from.
    """
    ops = read_ops(model_content)
    offending = sorted(
        {(op, layer_of(tensor)) for op, tensor in ops if NOT_BUILTIN.match(op)}
    )
    if offending:
        raise NotBuiltinError(
            "The TFLite model is not builtins-only; a plain LiteRT "
            "interpreter cannot run: "
            + "; ".join(
                f"{op} (from layer {layer!r})" for op, layer in offending
            )
            + ". Such ops need the Flex delegate or a custom op resolver."
        )
    return sorted({op for op, _ in ops})
