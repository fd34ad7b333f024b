//===- jit_gated_deltanet.cpp - embed the MixIR JIT in a C++ program ------===//
//
// Compiles a Gated DeltaNet layer from MLIR text with mixir::Compiler, runs
// it on generated data and checks it against a float64 recurrence written
// here (independent of MixIR). Exits 1 when the largest error is too big.
//
//   jit_gated_deltanet [B T]
//
//===----------------------------------------------------------------------===//
#include "mixir-c/Mixir.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

namespace {

constexpr int H = 2, K = 32, V = 32;

// One layer: gates from the raw projections as the model computes them,
// then the gated delta rule with L2-normalised q and k:
//   beta = sigmoid(b),  g = -exp(A_log[h]) * softplus(a + dt_bias[h])
//   S_t = exp(g_t) (I - beta_t k_t k_t^T) S_{t-1} + beta_t k_t v_t^T
//   o_t = S_t^T (q_t / sqrt(K))
const char *kLayer = R"mlir(
#bth = affine_map<(b, t, h) -> (b, t, h)>
#h = affine_map<(b, t, h) -> (h)>
func.func @gated_deltanet(%q: tensor<?x?x2x32xf32>, %k: tensor<?x?x2x32xf32>,
                          %v: tensor<?x?x2x32xf32>, %b: tensor<?x?x2xf32>,
                          %a: tensor<?x?x2xf32>, %A_log: tensor<2xf32>,
                          %dt_bias: tensor<2xf32>)
    -> (tensor<?x?x2x32xf32>, tensor<?x2x32x32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %bs = tensor.dim %b, %c0 : tensor<?x?x2xf32>
  %ts = tensor.dim %b, %c1 : tensor<?x?x2xf32>
  %init0 = tensor.empty(%bs, %ts) : tensor<?x?x2xf32>
  %init1 = tensor.empty(%bs, %ts) : tensor<?x?x2xf32>
  %beta = linalg.generic {indexing_maps = [#bth, #bth],
                          iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%b : tensor<?x?x2xf32>) outs(%init0 : tensor<?x?x2xf32>) {
  ^bb0(%x: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %nx = arith.negf %x : f32
    %e = math.exp %nx : f32
    %den = arith.addf %one, %e : f32
    %s = arith.divf %one, %den : f32
    linalg.yield %s : f32
  } -> tensor<?x?x2xf32>
  %g = linalg.generic {indexing_maps = [#bth, #h, #h, #bth],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%a, %A_log, %dt_bias : tensor<?x?x2xf32>, tensor<2xf32>, tensor<2xf32>)
      outs(%init1 : tensor<?x?x2xf32>) {
  ^bb0(%x: f32, %alog: f32, %bias: f32, %out: f32):
    %zero = arith.constant 0.0 : f32
    %y = arith.addf %x, %bias : f32
    %pos = arith.maximumf %y, %zero : f32
    %ay = math.absf %y : f32
    %nay = arith.negf %ay : f32
    %e = math.exp %nay : f32
    %l = math.log1p %e : f32
    %sp = arith.addf %pos, %l : f32
    %rate = math.exp %alog : f32
    %d = arith.mulf %rate, %sp : f32
    %nd = arith.negf %d : f32
    linalg.yield %nd : f32
  } -> tensor<?x?x2xf32>
  %o, %s = mix.delta_rule %q, %k, %v, %beta gate scalar(%g) qk_l2norm
      : (tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32>,
         tensor<?x?x2xf32>, tensor<?x?x2xf32>)
      -> (tensor<?x?x2x32xf32>, tensor<?x2x32x32xf32>)
  return %o, %s : tensor<?x?x2x32xf32>, tensor<?x2x32x32xf32>
}
)mlir";

/// The same layer in float64, one token at a time.
void reference(int B, int T, const std::vector<float> &q,
               const std::vector<float> &k, const std::vector<float> &v,
               const std::vector<float> &b, const std::vector<float> &a,
               const std::vector<float> &aLog, const std::vector<float> &dtBias,
               std::vector<double> &o, std::vector<double> &state) {
  o.assign(size_t(B) * T * H * V, 0.0);
  state.assign(size_t(B) * H * K * V, 0.0);
  const double scale = 1.0 / std::sqrt(double(K));
  for (int bi = 0; bi < B; ++bi)
    for (int h = 0; h < H; ++h) {
      double *S = &state[((size_t(bi) * H + h) * K) * V];
      for (int t = 0; t < T; ++t) {
        size_t bth = (size_t(bi) * T + t) * H + h;
        const float *qt = &q[bth * K], *kt = &k[bth * K], *vt = &v[bth * V];
        double qn = 0, kn = 0;
        for (int i = 0; i < K; ++i) {
          qn += double(qt[i]) * qt[i];
          kn += double(kt[i]) * kt[i];
        }
        qn = 1.0 / std::sqrt(qn + 1e-6);
        kn = 1.0 / std::sqrt(kn + 1e-6);
        double beta = 1.0 / (1.0 + std::exp(-double(b[bth])));
        double y = double(a[bth]) + dtBias[h];
        double softplus =
            std::max(y, 0.0) + std::log1p(std::exp(-std::fabs(y)));
        double decay = std::exp(-std::exp(double(aLog[h])) * softplus);
        // S = decay S; u = beta (v - S^T k); S += k u^T; o = S^T (scale q).
        for (int i = 0; i < K * V; ++i)
          S[i] *= decay;
        for (int j = 0; j < V; ++j) {
          double sk = 0;
          for (int i = 0; i < K; ++i)
            sk += S[i * V + j] * kt[i] * kn;
          double u = beta * (vt[j] - sk);
          for (int i = 0; i < K; ++i)
            S[i * V + j] += kt[i] * kn * u;
        }
        for (int j = 0; j < V; ++j) {
          double acc = 0;
          for (int i = 0; i < K; ++i)
            acc += S[i * V + j] * scale * qt[i] * qn;
          o[bth * V + j] = acc;
        }
      }
    }
}

} // namespace

int main(int argc, char **argv) {
  int B = argc > 2 ? std::atoi(argv[1]) : 2;
  int T = argc > 2 ? std::atoi(argv[2]) : 100;
  if (B <= 0 || T <= 0) {
    std::fprintf(stderr, "usage: jit_gated_deltanet [B T] (positive)\n");
    return 2;
  }
  std::mt19937 rng(42);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  auto fill = [&](size_t n, float s = 1.0f) {
    std::vector<float> x(n);
    for (float &e : x)
      e = s * normal(rng);
    return x;
  };
  std::vector<float> q = fill(size_t(B) * T * H * K),
                     k = fill(size_t(B) * T * H * K),
                     v = fill(size_t(B) * T * H * V),
                     b = fill(size_t(B) * T * H), a = fill(size_t(B) * T * H),
                     aLog = {-0.5f, 0.3f}, dtBias = {0.1f, -0.2f};
  try {
    auto start = std::chrono::steady_clock::now();
    mixir::Compiler compiler; // CPU, chunked lowering, opt level 3
    mixir::Module module = compiler.compile(kLayer, "gated_deltanet");
    mixir::Function layer = module.function("gated_deltanet");
    auto compiled = std::chrono::steady_clock::now();
    std::vector<mixir::Buffer> out = layer(
        {mixir::View(q.data(), {B, T, H, K}),
         mixir::View(k.data(), {B, T, H, K}),
         mixir::View(v.data(), {B, T, H, V}), mixir::View(b.data(), {B, T, H}),
         mixir::View(a.data(), {B, T, H}), mixir::View(aLog.data(), {H}),
         mixir::View(dtBias.data(), {H})});
    auto done = std::chrono::steady_clock::now();

    std::vector<double> oRef, sRef;
    reference(B, T, q, k, v, b, a, aLog, dtBias, oRef, sRef);
    double errO = 0, errS = 0, maxRef = 0;
    const float *o = out[0].data<float>(), *s = out[1].data<float>();
    for (size_t i = 0; i < oRef.size(); ++i) {
      errO = std::max(errO, std::fabs(o[i] - oRef[i]));
      maxRef = std::max(maxRef, std::fabs(oRef[i]));
    }
    for (size_t i = 0; i < sRef.size(); ++i)
      errS = std::max(errS, std::fabs(s[i] - sRef[i]));
    using ms = std::chrono::duration<double, std::milli>;
    std::printf("gated_deltanet B=%d T=%d H=%d K=%d V=%d: compile %.1f ms, "
                "first call %.1f ms\n",
                B, T, H, K, V, ms(compiled - start).count(),
                ms(done - compiled).count());
    std::printf("max |o - o_f64| = %.3g (max |o_f64| = %.3g), max |S - S_f64| "
                "= %.3g\n",
                errO, maxRef, errS);
    const double tol = 2e-4;
    if (!(errO <= tol * std::max(1.0, maxRef)) || !(errS <= tol * 10)) {
      std::printf("FAILED: error above %.1g\n", tol);
      return 1;
    }
    std::printf("OK\n");
  } catch (const mixir::Error &e) {
    std::fprintf(stderr, "jit_gated_deltanet: %s\n", e.what());
    return 1;
  }
  return 0;
}
