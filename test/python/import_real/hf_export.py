"""Shared by the tests of real `transformers` exports: the export cache in
the build tree, the logits-only wrapper, the cached
`torch.onnx.export(..., dynamo=True)` and the logits comparison (the
onnx_import helpers must be on sys.path for it)."""

import hashlib
import json
import os
import pathlib
import tempfile
import warnings

import numpy as np
from needs import need


def cache_dir():
    """<build>/import_real_cache/, or $MIXIR_IMPORT_REAL_CACHE."""
    env = os.environ.get("MIXIR_IMPORT_REAL_CACHE")
    if env:
        return pathlib.Path(env)
    import mixir
    build = pathlib.Path(mixir.__file__).resolve().parents[2]
    if (build / "bin").is_dir():
        return build / "import_real_cache"
    return pathlib.Path(tempfile.gettempdir()) / "mixir_import_real_cache"


def logits_module(model):
    """`model` (a causal LM) as a module from input_ids to logits, no
    cache."""
    torch = need("torch")

    class Logits(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids):
            return self.m(input_ids=input_ids, use_cache=False).logits

    return Logits(model).eval()


def cached_export(stem, module, ids, opset, key):
    """The .onnx of `module` run on `ids` (an int64 numpy array), exported at
    `opset` (None: the exporter's default) on a cache miss. The cache key is
    `key` (a dict that must describe the model and the recipe) with the
    torch, transformers and onnxscript versions and the opset."""
    torch = need("torch")
    transformers = need("transformers")
    onnxscript = need("onnxscript")
    text = json.dumps(dict(key, torch=torch.__version__,
                           transformers=transformers.__version__,
                           onnxscript=onnxscript.__version__, opset=opset),
                      sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}_{opset or 'default'}_{digest}.onnx"
    if not path.exists():
        tmp = path.with_suffix(".tmp.onnx")
        kwargs = {} if opset is None else {"opset_version": opset}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, (torch.from_numpy(ids),), str(tmp),
                              dynamo=True, verbose=False, **kwargs)
        tmp.replace(path)
    return path


def logits_rel_rms(text, module, ids):
    """The rel-RMS of the logits of `text` (imported MLIR, compiled with
    mixir) against `module` in torch, on `ids`."""
    torch = need("torch")
    import mixir
    from onnx_helpers import rel_rms
    with torch.no_grad():
        ref = module(torch.from_numpy(ids)).numpy()
    fn = next(iter(mixir.compile(text).functions.values()))
    out = fn(ids)
    out = out[0] if isinstance(out, tuple) else out
    return rel_rms(ref, np.asarray(out))
