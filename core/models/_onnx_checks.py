"""Check an uploaded ONNX file before anything runs it: size, format, no external data, opsets, operators.

ONNX is a protobuf graph, not code: loading it never executes anything the file brings, unlike a pickled model.
What can still go wrong is caught here, each with its own message: a file over the size cap
(``RISKBOARD_MAX_MODEL_MB``), bytes that are not an ONNX model, a tensor stored outside the file (an "external data"
path, which would make the runtime read a file the uploader names), an opset newer than the installed ``onnx``
knows or older than :data:`MIN_OPSET`, and operators from domains other than the standard ONNX and ONNX-ML ones
(custom operators need code Riskboard does not have). The file then passes ``onnx.checker.check_model``.

``onnx`` is imported inside the functions, so ``python -m core --help`` does not pay for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.errors import CustomOperatorError, ModelImportError

STANDARD_DOMAINS = ("", "ai.onnx", "ai.onnx.ml")
MIN_OPSET = 7
EMPTY = "The model file is empty; give the .onnx file your converter wrote."
TOO_LARGE = ("The model file is {size:,.3g} MB, over the {limit:,.3g} MB limit (RISKBOARD_MAX_MODEL_MB). Raise the "
             "limit if the model is really this large, or give a smaller model.")
NOT_ONNX = ("{name} is not an ONNX model ({why}). Give a .onnx file written by an ONNX converter (skl2onnx, "
            "torch.onnx.export, tf2onnx, onnxmltools); pickled models are never loaded.")
EXTERNAL = ("The model keeps tensor {tensor!r} in an external file ({where}); Riskboard loads only self-contained "
            "models. Save it with all weights inside the file (onnx.save_model(model, path, "
            "save_as_external_data=False)).")
NO_OPSET = "The model declares no ONNX opset; re-export it with a current converter."
OPSET_RANGE = ("The model uses {domain} opset {version}, which this installation cannot run (supported: {low} to "
               "{high}). Re-export the model with target_opset between {low} and {high}.")
CUSTOM_DOMAIN = ("The model uses custom operator{s} {ops} from domain {domain!r}; only the standard ONNX and ONNX-ML "
                 "operators can be run here. Re-export the model without custom operators (for skl2onnx, a "
                 "converter for every step of the pipeline; for torch, standard layers only).")
UNKNOWN_OP = ("The model uses operator {op!r}, which is not a standard {domain} operator; re-export the model "
              "with standard operators only.")
INVALID = "The model file is not a valid ONNX graph ({why}); re-export it with a current converter."


def _domain_name(domain: str) -> str:
    return "ONNX" if domain in ("", "ai.onnx") else "ONNX-ML" if domain == "ai.onnx.ml" else repr(domain)


def check_size(data: bytes, limit_bytes: int) -> None:
    """Refuse an empty file or one over the cap, before parsing a byte of it."""
    if not data:
        raise ModelImportError(EMPTY)
    if len(data) > limit_bytes:
        raise ModelImportError(TOO_LARGE.format(size=len(data) / 2**20, limit=round(limit_bytes / 2**20, 3)))


def parse(data: bytes, name: str = "The file") -> Any:
    """The ``onnx.ModelProto`` in ``data``; a typed error when the bytes are not one (no path is ever followed)."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError, TypeError) as exc:
        raise ModelImportError(NOT_ONNX.format(name=name, why=type(exc).__name__)) from None
    if not model.ir_version or not len(model.graph.node) or not len(model.graph.input):
        raise ModelImportError(NOT_ONNX.format(name=name, why="no graph with inputs and operators"))
    return model


def _graphs(graph: Any) -> Iterator[Any]:
    """The graph and every subgraph held in node attributes (If/Loop/Scan bodies), depth first."""
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _graphs(attribute.g)
            for sub in attribute.graphs:
                yield from _graphs(sub)


def _tensors(graph: Any) -> Iterator[Any]:
    for g in _graphs(graph):
        yield from g.initializer
        for sparse in g.sparse_initializer:
            yield sparse.values
            yield sparse.indices
        for node in g.node:
            for attribute in node.attribute:
                if attribute.HasField("t"):
                    yield attribute.t
                yield from attribute.tensors


def check_external_data(model: Any) -> None:
    """No tensor may point at a file outside the model (the runtime would open a path the uploader chose)."""
    import onnx

    for tensor in _tensors(model.graph):
        if tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data):
            where = next((entry.value for entry in tensor.external_data if entry.key == "location"), "a separate file")
            raise ModelImportError(EXTERNAL.format(tensor=tensor.name or "(unnamed)", where=where[:80]))


def supported_opsets() -> dict[str, tuple[int, int]]:
    """Domain -> (lowest, highest) opset this installation's ``onnx`` can check and run."""
    import onnx

    ml = max((s.since_version for s in onnx.defs.get_all_schemas_with_history() if s.domain == "ai.onnx.ml"),
             default=1)
    high = onnx.defs.onnx_opset_version()
    return {"": (MIN_OPSET, high), "ai.onnx": (MIN_OPSET, high), "ai.onnx.ml": (1, ml)}


def check_operators(model: Any) -> None:
    """Opsets in range; every operator standard (or a function defined in the file); custom domains named."""
    import onnx

    if not len(model.opset_import):
        raise ModelImportError(NO_OPSET)
    ranges = supported_opsets()
    local = {(f.domain, f.name) for f in model.functions}
    local_domains = {f.domain for f in model.functions}
    versions: dict[str, int] = {}
    for opset in model.opset_import:
        if opset.domain in ranges:
            low, high = ranges[opset.domain]
            if not low <= opset.version <= high:
                raise ModelImportError(OPSET_RANGE.format(domain=_domain_name(opset.domain), version=opset.version,
                                                          low=low, high=high))
            versions[opset.domain] = opset.version
    custom: dict[str, set[str]] = {}
    for graph in _graphs(model.graph):
        for node in graph.node:
            if (node.domain, node.op_type) in local:
                continue
            if node.domain not in STANDARD_DOMAINS:
                custom.setdefault(node.domain, set()).add(node.op_type)
            elif not onnx.defs.has(node.op_type, node.domain):
                raise CustomOperatorError(UNKNOWN_OP.format(op=node.op_type, domain=_domain_name(node.domain)))
    for domain, ops in sorted(custom.items()):
        if domain not in local_domains:
            shown = ", ".join(repr(op) for op in sorted(ops)[:5])
            raise CustomOperatorError(CUSTOM_DOMAIN.format(s="s" if len(ops) > 1 else "", ops=shown, domain=domain))


def check_graph(model: Any) -> None:
    """``onnx.checker.check_model``, its complaint turned into one plain sentence."""
    import onnx

    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelImportError(INVALID.format(why=first[:200])) from None


def load_checked(data: bytes, *, limit_bytes: int, name: str = "The file") -> Any:
    """Every check above, in order of cost; returns the parsed model."""
    check_size(data, limit_bytes)
    model = parse(data, name)
    check_external_data(model)
    check_operators(model)
    check_graph(model)
    return model
