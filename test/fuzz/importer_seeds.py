"""Seeds of the importer fuzz targets, called by make_corpus.py.

stablehlo: the flat-form inputs of the StableHLO importer's lit tests
(test/Import/StableHLO), without their comment lines (RUN and CHECK lines),
whole and, where a function calls no other, one module per function.

onnx: the models the ONNX importer's tests build (test/python/onnx_import:
the damaged-model generator's seeds, its regression models, Scan and Loop
recurrences and a written-out softmax attention), serialized. Building them
needs the onnx package and the mixir package (PYTHONPATH=build/python).
"""

import pathlib
import re
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
FLAT_HEADER = "// mixir-stablehlo-flat v1"


def _functions(lines):
    """The top-level func.func ops of a flat-form module, as line lists."""
    funcs, current = [], None
    for line in lines:
        if line.startswith('  "func.func"'):
            current = [line]
        elif current is not None:
            current.append(line)
            if line == "  }) : () -> ()":
                funcs.append(current)
                current = None
    return funcs


def stablehlo_seeds():
    d = REPO / "test" / "Import" / "StableHLO"
    files = sorted(d.glob("*.mlir")) + sorted((d / "Inputs").glob("*.mlir"))
    files.append(d / "Inputs" / "exp.flat")
    for f in files:
        text = f.read_text()
        if not text.startswith(FLAT_HEADER):
            continue
        lines = [l for l in text.splitlines()
                 if l.strip() and not l.lstrip().startswith("//")]
        yield f.stem, "\n".join([FLAT_HEADER] + lines + [""]).encode()
        funcs = _functions(lines)
        if len(funcs) < 2:
            continue
        for i, func in enumerate(funcs):
            if any('"func.call"' in l for l in func):
                continue
            module = [FLAT_HEADER, lines[0]] + func + [lines[-1], ""]
            yield f"{f.stem}-{i}", "\n".join(module).encode()


def _onnx_models():
    for sub in ("test/python", "test/python/onnx_import"):
        sys.path.insert(0, str(REPO / sub))
    import numpy as np
    from onnx import helper as h

    from onnx_helpers import init, make_model, vi
    from test_onnx_damaged import REGRESSIONS, seeds
    from test_onnx_loops import diag_model, loop_model, scan_model
    from test_raise_and_errors import qkv_inputs, scores_nodes, T

    yield from seeds()
    yield from (model for model, _ in REGRESSIONS.values())
    yield scan_model(3, 4, 5)
    yield scan_model(3, 4, 5, delta=True, gated=True, reverse=True)
    yield loop_model(3, 4, 5)
    yield diag_model(3, 4, nonlinear=True, reverse=False)
    neg = np.triu(np.full((T, T), -np.inf), 1).astype(np.float32)
    nodes = scores_nodes() + [
        h.make_node("Mul", ["s", "c"], ["ss"]),
        h.make_node("Add", ["ss", "mask"], ["sm"]),
        h.make_node("Softmax", ["sm"], ["p"], axis=-1),
        h.make_node("MatMul", ["p", "v"], ["o"])]
    yield make_model(nodes, qkv_inputs(), [vi("o", None)],
                     [init("c", np.array(0.25, np.float32)), init("mask", neg)])


def onnx_seeds():
    seen = set()
    for i, model in enumerate(_onnx_models()):
        data = model.SerializeToString()
        if data in seen:
            continue
        seen.add(data)
        op = re.sub(r"[^A-Za-z0-9]", "", model.graph.node[0].op_type
                    if model.graph.node else "empty")
        yield f"{i:03d}-{op}", data
