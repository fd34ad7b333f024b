"""Small JAX functions, one per StableHLO op family the back stage converts
(shared by the front-stage and standard-op tests)."""

from needs import need

need("jax")
import jax
import jax.numpy as jnp
from jax import lax


def elementwise(x, y):
    """add sub mul div neg exp log logistic tanh sqrt rsqrt max min."""
    a = jnp.exp(x) - jnp.log(y * y + 1) * jnp.tanh(x) / (1 + jax.nn.sigmoid(y))
    return jnp.maximum(jnp.sqrt(a * a + 1e-3), lax.rsqrt(y * y + 1)) - jnp.minimum(-a, x)


def compare_select(x, y):
    return jnp.where(x < y, x, -y), (x >= y).astype(jnp.int32)


def iota_broadcast(x):
    pos = jnp.arange(x.shape[1], dtype=jnp.float32)
    return x + pos[None, :, None] * 0.01


def reshape_transpose(x):
    return jnp.transpose(x.reshape(x.shape[0], -1, 4), (2, 0, 1))


def slices(x, i):
    a = x[:, 3:17:2]
    b = lax.dynamic_slice_in_dim(x, i, 5, axis=1)
    c = lax.dynamic_update_slice_in_dim(x, b * 2, i + 1, axis=1)
    return a, b, c


def concat_pad(x, y):
    return jnp.concatenate([x, y], axis=1), jnp.pad(x, ((0, 0), (2, 3), (1, 0)))


def dot_general(a, b):
    return jnp.einsum("bij,bjk->bik", a, b), jnp.einsum("bij,bkj->bik", a, b)


def reduce(x):
    return jnp.sum(x, axis=1), jnp.max(x, axis=-1)


def convert(x):
    return (x.astype(jnp.bfloat16) * 2).astype(jnp.float32), x.astype(jnp.float16)


def fori(x):
    return lax.fori_loop(0, 5, lambda i, c: c * 0.5 + jnp.sin(c) + i, x)


def gather_scatter(x, idx):
    return x[idx], x.at[idx].add(1.0)


def conv(x, w):
    return lax.conv_general_dilated(x, w, (1,), "SAME",
                                    dimension_numbers=("NWC", "WIO", "NWC"))


def erf_chlo(x):
    return jax.scipy.special.erf(x) + lax.tan(x)


def gather(x, idx):
    return x[idx], jnp.take_along_axis(x, idx[:, None], axis=0)


def cumsum(x):
    return jnp.cumsum(x, axis=1), lax.cummax(x, axis=1)


def short_conv(x, w):
    """Depthwise causal 1-D convolution (the short conv of DeltaNet/Mamba
    blocks): x [B,T,C], w [W,1,C]."""
    width = w.shape[0]
    return lax.conv_general_dilated(x, w, (1,), [(width - 1, 0)],
                                     dimension_numbers=("NWC", "WIO", "NWC"),
                                     feature_group_count=x.shape[-1])
