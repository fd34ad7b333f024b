"""Gated DeltaNet and GLA blocks as ONNX graphs (projections, short causal
convolution, norms, gates, the LinearAttention node, output projection and
residual). Used by the tests and by bench/bench_onnx.py."""

import numpy as np
from needs import need

need("onnx")
from onnx import helper as h

from onnx_helpers import init, make_model, vi

N = h.make_node


class _Graph:
    def __init__(self, seed):
        self.r = np.random.default_rng(seed)
        self.nodes, self.inits, self.n = [], [], 0

    def w(self, *shape, scale=None):
        self.n += 1
        name = f"w{self.n}"
        s = scale if scale is not None else 1.0 / np.sqrt(shape[0])
        self.inits.append(init(name, (self.r.standard_normal(shape) * s).astype(np.float32)))
        return name

    def c(self, value, dtype=np.float32):
        self.n += 1
        name = f"c{self.n}"
        self.inits.append(init(name, np.asarray(value, dtype=dtype)))
        return name

    def op(self, op, *ins, **attrs):
        self.n += 1
        out = f"t{self.n}"
        self.nodes.append(N(op, list(ins), [out], name=f"{op}_{self.n}", **attrs))
        return out

    def silu(self, x):
        return self.op("Mul", x, self.op("Sigmoid", x))

    def short_conv(self, x, channels, kernel=4):
        xt = self.op("Transpose", x, perm=[0, 2, 1])
        y = self.op("Conv", xt, self.w(channels, 1, kernel, scale=0.5), group=channels,
                    kernel_shape=[kernel], pads=[kernel - 1, 0])
        return self.silu(self.op("Transpose", y, perm=[0, 2, 1]))

    def heads(self, x, hh, d):
        return self.op("Reshape", x, self.c([0, 0, hh, d], np.int64))

    def flat(self, x):
        return self.op("Reshape", x, self.c([0, 0, -1], np.int64))

    def l2norm(self, x, hh, d):
        x4 = self.heads(x, hh, d)
        ss = self.op("ReduceSum", self.op("Mul", x4, x4), self.c([-1], np.int64), keepdims=1)
        return self.flat(self.op("Div", x4, self.op("Sqrt", self.op("Add", ss, self.c(1e-6)))))


def gated_deltanet_block(b, t, dm, hh, dk, dv, seed=0, dynamic=False):
    g = _Graph(seed)
    xn = g.op("RMSNormalization", "x", g.c(np.ones(dm)), epsilon=1e-6)
    q = g.l2norm(g.short_conv(g.op("MatMul", xn, g.w(dm, hh * dk)), hh * dk), hh, dk)
    k = g.l2norm(g.short_conv(g.op("MatMul", xn, g.w(dm, hh * dk)), hh * dk), hh, dk)
    v = g.short_conv(g.op("MatMul", xn, g.w(dm, hh * dv)), hh * dv)
    beta = g.op("Sigmoid", g.op("MatMul", xn, g.w(dm, hh)))
    a = g.op("Softplus", g.op("Add", g.op("MatMul", xn, g.w(dm, hh)), g.c(np.full(hh, -2.0))))
    decay = g.op("Mul", g.op("Neg", g.op("Exp", g.c(np.log(np.linspace(1, 4, hh))))), a)
    g.n += 1
    o, s = f"t{g.n}", f"s{g.n}"
    g.nodes.append(N("LinearAttention", [q, k, v, "", decay, beta], [o, s],
                     name="gated_delta", q_num_heads=hh, kv_num_heads=hh,
                     update_rule="gated_delta"))
    on = g.op("RMSNormalization", g.heads(o, hh, dv), g.c(np.ones(dv)), epsilon=1e-6)
    gate = g.silu(g.heads(g.op("MatMul", xn, g.w(dm, hh * dv)), hh, dv))
    y = g.op("Add", "x", g.op("MatMul", g.flat(g.op("Mul", on, gate)), g.w(hh * dv, dm)))
    bt = ["B", "T"] if dynamic else [b, t]
    return make_model(g.nodes, [vi("x", bt + [dm])], [vi(y, None)], g.inits, opset=27,
                      name="gated_deltanet")


def gla_block(b, t, dm, hh, dk, dv, seed=1):
    g = _Graph(seed)
    xn = g.op("LayerNormalization", "x", g.c(np.ones(dm)), g.c(np.zeros(dm)), epsilon=1e-5)
    q = g.short_conv(g.op("MatMul", xn, g.w(dm, hh * dk)), hh * dk)
    k = g.short_conv(g.op("MatMul", xn, g.w(dm, hh * dk)), hh * dk)
    v = g.op("MatMul", xn, g.w(dm, hh * dv))
    # log-sigmoid gate / 16 per key channel: -softplus(-z) / 16
    z = g.op("MatMul", xn, g.w(dm, hh * dk))
    gk = g.op("Div", g.op("Neg", g.op("Softplus", g.op("Neg", z))), g.c(16.0))
    g.n += 1
    o, s = f"t{g.n}", f"s{g.n}"
    g.nodes.append(N("LinearAttention", [q, k, v, "", gk], [o, s], name="gla",
                     q_num_heads=hh, kv_num_heads=hh, update_rule="gated",
                     scale=float(dk) ** -0.5))
    on = g.op("RMSNormalization", g.heads(o, hh, dv), g.c(np.ones(dv)), epsilon=1e-5)
    gate = g.silu(g.heads(g.op("MatMul", xn, g.w(dm, hh * dv)), hh, dv))
    y = g.op("Add", "x", g.op("MatMul", g.flat(g.op("Mul", on, gate)), g.w(hh * dv, dm)))
    return make_model(g.nodes, [vi("x", [b, t, dm])], [vi(y, None)], g.inits, opset=27,
                      name="gla")
