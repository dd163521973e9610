// Fused log-mel kernel: framing + window, FFT, power, sparse mel, log, per-utterance floor.
//
// Vectorization is across frames, not within one: every value below is a `vf`, a vector of LANES
// frames side by side (GCC/Clang vector extensions), so each scalar FFT butterfly is one SIMD
// operation whatever the auto-vectorizer decides (it gave up on the butterfly loops). A real
// frame of even length n is packed into a complex sequence of n / 2 (even samples real, odd
// samples imaginary) and unpacked after the FFT, which halves the work; packing one frame (not
// two frames into the real and imaginary parts) keeps each frame's rounding error relative to
// its own energy, which matters for quiet frames next to loud ones. The FFT is a mixed-radix
// Stockham transform (radix 8, 4, 2, 5 and a generic radix for other primes), so any n_fft
// works; 400 / 2 = 8 * 5 * 5.
//
// This file is compiled once per instruction set; LANSER_ENTRY names the entry point.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <thread>
#include <vector>

#include "logmel.h"

#ifndef LANSER_ENTRY
#error "compile with -DLANSER_ENTRY=<entry point name>"
#endif

namespace lanser {
namespace {

// Frames per vector: exactly one register of the target (16 for AVX-512, 8 for AVX2, 4 for
// SSE2; set by CMakeLists.txt). Wider-than-native vector types are lowered poorly: 16 lanes on
// AVX2 measured 5x slower than 8.
#ifndef LANSER_LANES
#error "compile with -DLANSER_LANES=<floats per SIMD register>"
#endif
constexpr int LANES = LANSER_LANES;
typedef float vf __attribute__((vector_size(LANES * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(LANES * sizeof(int32_t))));
constexpr double kPi = 3.14159265358979323846;

inline vf splat(float v) { return vf{} + v; }

struct Stage {
  int p = 0;  // radix
  int m = 0;  // sub-transform length after this stage
  int s = 0;  // stride in vectors (product of the radices before this stage)
  std::vector<float> tw_re, tw_im;      // twiddles w_{n_cur}^{q r}, index q * p + r
  std::vector<float> root_re, root_im;  // p-th roots of unity (generic radix), index j * p + r
};

struct Band {
  int start = 0;   // first non-zero FFT bin
  int count = 0;   // non-zero bins
  int offset = 0;  // into Plan::weights
};

struct Plan {
  int n = 0;            // n_fft
  int n_freqs = 0;      // n_fft / 2 + 1
  bool packed = false;  // even n_fft: complex FFT of n / 2 points plus an unpacking step
  int n_complex = 0;    // complex FFT length (n / 2 when packed, else n)
  std::vector<float> unpack_re, unpack_im;  // w_n^k, k = 0 .. n / 2
  std::vector<Stage> stages;
  std::vector<Band> bands;
  std::vector<float> weights;
};

std::vector<int> factorize(int n) {
  std::vector<int> radices;  // fewest stages: each stage is one pass over the buffers
  while (n % 8 == 0) { radices.push_back(8); n /= 8; }
  while (n % 4 == 0) { radices.push_back(4); n /= 4; }
  for (int p : {2, 5}) while (n % p == 0) { radices.push_back(p); n /= p; }
  for (int p = 3; n > 1; p += 2) while (n % p == 0) { radices.push_back(p); n /= p; }
  return radices;
}

Plan make_plan(const LogMelParams& params, const float* filters) {
  Plan plan;
  plan.n = params.n_fft;
  plan.n_freqs = params.n_fft / 2 + 1;
  plan.packed = params.n_fft % 2 == 0;
  plan.n_complex = plan.packed ? plan.n / 2 : plan.n;
  for (int k = 0; k < plan.n_freqs; ++k) {
    double angle = -2.0 * kPi * double(k) / double(plan.n);
    plan.unpack_re.push_back(float(std::cos(angle)));
    plan.unpack_im.push_back(float(std::sin(angle)));
  }
  int n_cur = plan.n_complex, s = 1;
  for (int p : factorize(plan.n_complex)) {
    Stage st;
    st.p = p;
    st.m = n_cur / p;
    st.s = s;
    for (int q = 0; q < st.m; ++q)
      for (int r = 0; r < p; ++r) {
        double angle = -2.0 * kPi * double((int64_t(q) * r) % n_cur) / double(n_cur);
        st.tw_re.push_back(float(std::cos(angle)));
        st.tw_im.push_back(float(std::sin(angle)));
      }
    for (int j = 0; j < p; ++j)
      for (int r = 0; r < p; ++r) {
        double angle = -2.0 * kPi * double((j * r) % p) / double(p);
        st.root_re.push_back(float(std::cos(angle)));
        st.root_im.push_back(float(std::sin(angle)));
      }
    plan.stages.push_back(std::move(st));
    n_cur /= p;
    s *= p;
  }
  // Slaney filters are triangles: keep each band's non-zero run only.
  for (int m = 0; m < params.n_mels; ++m) {
    const float* row = filters + size_t(m) * plan.n_freqs;
    int first = 0, last = plan.n_freqs - 1;
    while (first < plan.n_freqs && row[first] == 0.0f) ++first;
    while (last >= first && row[last] == 0.0f) --last;
    Band band;
    band.start = first < plan.n_freqs ? first : 0;
    band.count = first < plan.n_freqs ? last - first + 1 : 0;
    band.offset = int(plan.weights.size());
    for (int k = 0; k < band.count; ++k) plan.weights.push_back(row[band.start + k]);
    plan.bands.push_back(band);
  }
  return plan;
}

// ---- FFT butterflies: `s` vectors per operand; TW = false for q == 0 (all twiddles are 1,
// e.g. the whole last stage) skips the products.

template <bool TW>
inline void store(vf* yr, vf* yi, int t, vf br, vf bi, float wr, float wi) {
  if constexpr (TW) {
    yr[t] = br * wr - bi * wi;
    yi[t] = br * wi + bi * wr;
  } else {
    yr[t] = br;
    yi[t] = bi;
  }
}

template <bool TW>
void radix2(const vf* xr, const vf* xi, vf* yr, vf* yi, const Stage& st, int q) {
  const size_t span = size_t(st.s) * st.m;  // distance between inputs j and j + 1
  const int w = st.s;
  const float* tr = st.tw_re.data() + size_t(q) * 2;
  const float* ti = st.tw_im.data() + size_t(q) * 2;
  for (int t = 0; t < w; ++t) {
    const vf a0r = xr[t], a0i = xi[t], a1r = xr[t + span], a1i = xi[t + span];
    yr[t] = a0r + a1r;
    yi[t] = a0i + a1i;
    store<TW>(yr + w, yi + w, t, a0r - a1r, a0i - a1i, tr[1], ti[1]);
  }
}

// Radix-4 transform of (x0, x1, x2, x3) into out[0..3].
inline void dft4(vf x0r, vf x0i, vf x1r, vf x1i, vf x2r, vf x2i, vf x3r, vf x3i, vf* outr,
                 vf* outi) {
  const vf t0r = x0r + x2r, t0i = x0i + x2i, t1r = x0r - x2r, t1i = x0i - x2i;
  const vf t2r = x1r + x3r, t2i = x1i + x3i, t3r = x1r - x3r, t3i = x1i - x3i;
  outr[0] = t0r + t2r; outi[0] = t0i + t2i;
  outr[1] = t1r + t3i; outi[1] = t1i - t3r;
  outr[2] = t0r - t2r; outi[2] = t0i - t2i;
  outr[3] = t1r - t3i; outi[3] = t1i + t3r;
}

template <bool TW>
void radix4(const vf* xr, const vf* xi, vf* yr, vf* yi, const Stage& st, int q) {
  const size_t span = size_t(st.s) * st.m;
  const int w = st.s;
  const float* tr = st.tw_re.data() + size_t(q) * 4;
  const float* ti = st.tw_im.data() + size_t(q) * 4;
  for (int t = 0; t < w; ++t) {
    vf br[4], bi[4];
    dft4(xr[t], xi[t], xr[t + span], xi[t + span], xr[t + 2 * span], xi[t + 2 * span],
         xr[t + 3 * span], xi[t + 3 * span], br, bi);
    yr[t] = br[0];
    yi[t] = bi[0];
    for (int r = 1; r < 4; ++r)
      store<TW>(yr + r * w, yi + r * w, t, br[r], bi[r], tr[r], ti[r]);
  }
}

template <bool TW>
void radix8(const vf* xr, const vf* xi, vf* yr, vf* yi, const Stage& st, int q) {
  const size_t span = size_t(st.s) * st.m;
  const int w = st.s;
  const float* tr = st.tw_re.data() + size_t(q) * 8;
  const float* ti = st.tw_im.data() + size_t(q) * 8;
  const float h = 0.70710678118654752f;  // 1 / sqrt(2)
  for (int t = 0; t < w; ++t) {
    // b_r = E_(r mod 4) + w_8^r O_(r mod 4): E over the even inputs, O over the odd ones.
    vf er[4], ei[4], orr[4], oi[4];
    dft4(xr[t], xi[t], xr[t + 2 * span], xi[t + 2 * span], xr[t + 4 * span], xi[t + 4 * span],
         xr[t + 6 * span], xi[t + 6 * span], er, ei);
    dft4(xr[t + span], xi[t + span], xr[t + 3 * span], xi[t + 3 * span], xr[t + 5 * span],
         xi[t + 5 * span], xr[t + 7 * span], xi[t + 7 * span], orr, oi);
    // w_8 = (1 - i) / sqrt 2, w_8^2 = -i, w_8^3 = -(1 + i) / sqrt 2
    const vf p1r = h * (orr[1] + oi[1]), p1i = h * (oi[1] - orr[1]);
    const vf p2r = oi[2], p2i = -orr[2];
    const vf p3r = h * (oi[3] - orr[3]), p3i = -h * (oi[3] + orr[3]);
    yr[t] = er[0] + orr[0];
    yi[t] = ei[0] + oi[0];
    store<TW>(yr + w, yi + w, t, er[1] + p1r, ei[1] + p1i, tr[1], ti[1]);
    store<TW>(yr + 2 * w, yi + 2 * w, t, er[2] + p2r, ei[2] + p2i, tr[2], ti[2]);
    store<TW>(yr + 3 * w, yi + 3 * w, t, er[3] + p3r, ei[3] + p3i, tr[3], ti[3]);
    store<TW>(yr + 4 * w, yi + 4 * w, t, er[0] - orr[0], ei[0] - oi[0], tr[4], ti[4]);
    store<TW>(yr + 5 * w, yi + 5 * w, t, er[1] - p1r, ei[1] - p1i, tr[5], ti[5]);
    store<TW>(yr + 6 * w, yi + 6 * w, t, er[2] - p2r, ei[2] - p2i, tr[6], ti[6]);
    store<TW>(yr + 7 * w, yi + 7 * w, t, er[3] - p3r, ei[3] - p3i, tr[7], ti[7]);
  }
}

template <bool TW>
void radix5(const vf* xr, const vf* xi, vf* yr, vf* yi, const Stage& st, int q) {
  const size_t span = size_t(st.s) * st.m;
  const int w = st.s;
  const float c1 = float(std::cos(2 * kPi / 5)), c2 = float(std::cos(4 * kPi / 5));
  const float s1 = float(std::sin(2 * kPi / 5)), s2 = float(std::sin(4 * kPi / 5));
  const float* tr = st.tw_re.data() + size_t(q) * 5;
  const float* ti = st.tw_im.data() + size_t(q) * 5;
  for (int t = 0; t < w; ++t) {
    const vf a0r = xr[t], a0i = xi[t];
    const vf a1r = xr[t + span], a1i = xi[t + span];
    const vf a2r = xr[t + 2 * span], a2i = xi[t + 2 * span];
    const vf a3r = xr[t + 3 * span], a3i = xi[t + 3 * span];
    const vf a4r = xr[t + 4 * span], a4i = xi[t + 4 * span];
    const vf p1r = a1r + a4r, p1i = a1i + a4i, m1r = a1r - a4r, m1i = a1i - a4i;
    const vf p2r = a2r + a3r, p2i = a2i + a3i, m2r = a2r - a3r, m2i = a2i - a3i;
    const vf c1r = a0r + c1 * p1r + c2 * p2r, c1i = a0i + c1 * p1i + c2 * p2i;
    const vf c2r = a0r + c2 * p1r + c1 * p2r, c2i = a0i + c2 * p1i + c1 * p2i;
    const vf d1r = s1 * m1r + s2 * m2r, d1i = s1 * m1i + s2 * m2i;
    const vf d2r = s2 * m1r - s1 * m2r, d2i = s2 * m1i - s1 * m2i;
    // b1 = c1 - i d1, b4 = c1 + i d1, b2 = c2 - i d2, b3 = c2 + i d2
    yr[t] = a0r + p1r + p2r;
    yi[t] = a0i + p1i + p2i;
    store<TW>(yr + w, yi + w, t, c1r + d1i, c1i - d1r, tr[1], ti[1]);
    store<TW>(yr + 2 * w, yi + 2 * w, t, c2r + d2i, c2i - d2r, tr[2], ti[2]);
    store<TW>(yr + 3 * w, yi + 3 * w, t, c2r - d2i, c2i + d2r, tr[3], ti[3]);
    store<TW>(yr + 4 * w, yi + 4 * w, t, c1r - d1i, c1i + d1r, tr[4], ti[4]);
  }
}

void radix_generic(const vf* xr, const vf* xi, vf* yr, vf* yi, const Stage& st, int q) {
  const size_t span = size_t(st.s) * st.m;
  const int p = st.p, w = st.s;
  for (int r = 0; r < p; ++r) {
    const float twr = st.tw_re[size_t(q) * p + r], twi = st.tw_im[size_t(q) * p + r];
    for (int t = 0; t < w; ++t) {
      vf accr{}, acci{};
      for (int j = 0; j < p; ++j) {
        const float wr = st.root_re[size_t(j) * p + r], wi = st.root_im[size_t(j) * p + r];
        accr += xr[t + j * span] * wr - xi[t + j * span] * wi;
        acci += xr[t + j * span] * wi + xi[t + j * span] * wr;
      }
      store<true>(yr + size_t(r) * w, yi + size_t(r) * w, t, accr, acci, twr, twi);
    }
  }
}

template <bool TW>
void butterflies(const vf* xr, const vf* xi, vf* yr, vf* yi, const Stage& st, int q) {
  switch (st.p) {
    case 2: radix2<TW>(xr, xi, yr, yi, st, q); break;
    case 4: radix4<TW>(xr, xi, yr, yi, st, q); break;
    case 5: radix5<TW>(xr, xi, yr, yi, st, q); break;
    case 8: radix8<TW>(xr, xi, yr, yi, st, q); break;
    default: radix_generic(xr, xi, yr, yi, st, q); break;
  }
}

// Forward FFT of LANES complex sequences through ping-pong buffers; on return (xr, xi) points
// at the result.
void fft(const Plan& plan, vf*& xr, vf*& xi, vf*& yr, vf*& yi) {
  for (const Stage& st : plan.stages) {
    for (int q = 0; q < st.m; ++q) {
      const vf* inr = xr + size_t(q) * st.s;
      const vf* ini = xi + size_t(q) * st.s;
      vf* outr = yr + size_t(st.p) * q * st.s;
      vf* outi = yi + size_t(st.p) * q * st.s;
      if (q == 0) butterflies<false>(inr, ini, outr, outi, st, q);
      else butterflies<true>(inr, ini, outr, outi, st, q);
    }
    std::swap(xr, yr);
    std::swap(xi, yi);
  }
}

// Natural log of LANES values (no libm call): exponent from the bits, atanh series for the
// mantissa in [sqrt(1/2), sqrt(2)). Max relative error ~1e-7 over positive normal floats;
// subnormals are renormalized, x <= 0 gives -inf.
inline vf vlog(vf x) {
  const vi nonpositive = x <= 0.0f;
  const vi tiny = x < std::numeric_limits<float>::min();
  x = tiny ? x * 8388608.0f : x;  // 2^23
  const vi bits = (vi)x;
  vi exponent = ((bits >> 23) & 0xff) - 127 - (tiny & 23);
  vf mant = (vf)((bits & 0x007fffff) | 0x3f800000);  // [1, 2)
  const vi high = mant > 1.41421356f;
  mant = high ? mant * 0.5f : mant;
  exponent -= high;  // masks are -1 where true
  const vf s = (mant - 1.0f) / (mant + 1.0f);
  const vf s2 = s * s;
  const vf series =
      s * (2.0f + s2 * (0.666666667f + s2 * (0.4f + s2 * (0.285714286f + s2 * 0.222222222f))));
  const vf ln = series + __builtin_convertvector(exponent, vf) * 0.693147181f;
  return nonpositive ? splat(-std::numeric_limits<float>::infinity()) : ln;
}

struct Worker {
  std::vector<vf> buf;  // 4 FFT buffers + the power spectrum
  vf *xr, *xi, *yr, *yi, *power;
  explicit Worker(const Plan& plan) {
    const size_t n = size_t(plan.n_complex), f = size_t(plan.n_freqs);
    buf.assign(4 * n + f, vf{});
    xr = buf.data(); xi = xr + n; yr = xi + n; yi = yr + n; power = yi + n;
  }
};

struct Job {
  const LogMelBatch& batch;
  const LogMelParams& params;
  const Plan& plan;
  float log_scale;   // 1 / ln(10) for log10, else 1
  float silent_raw;  // log of a zero-power frame
};

inline vf to_log(const Job& job, vf power) {
  const vf v = (power > job.params.clamp_min ? power : splat(job.params.clamp_min)) +
               job.params.add_eps;
  return vlog(v) * job.log_scale;
}

// Frames that can hold audio; later frames see only zero padding and are silent.
int64_t active_frames(const LogMelParams& p, int64_t length, int64_t n_frames) {
  const int64_t padded = std::max(length, p.min_samples);
  if (padded - length < int64_t(p.n_fft)) return n_frames;  // reflection may reach the audio
  const int64_t offset = p.center ? p.n_fft / 2 : 0;
  // frame f starts at f * hop - offset; it holds audio while that is below length
  return std::min(n_frames, (length + offset + p.hop - 1) / p.hop);
}

// Window one frame into lane `lane` of the FFT input: packed, even samples go to the real part
// and odd ones to the imaginary part of point n / 2; unpacked, all go to the real part.
void load_frame(const Job& job, const float* x, int64_t length, int64_t frame, vf* vre, vf* vim,
                int lane) {
  const LogMelParams& p = job.params;
  const Plan& plan = job.plan;
  const float* w = job.batch.window;
  float* re = reinterpret_cast<float*>(vre) + lane;
  float* im = reinterpret_cast<float*>(vim) + lane;
  const int64_t start = frame * p.hop - (p.center ? p.n_fft / 2 : 0);
  if (start >= 0 && start + p.n_fft <= length) {
    const float* src = x + start;
    if (plan.packed) {
      for (int n = 0; n < plan.n_complex; ++n) {
        re[size_t(n) * LANES] = src[2 * n] * w[2 * n];
        im[size_t(n) * LANES] = src[2 * n + 1] * w[2 * n + 1];
      }
    } else {
      for (int n = 0; n < p.n_fft; ++n) {
        re[size_t(n) * LANES] = src[n] * w[n];
        im[size_t(n) * LANES] = 0.0f;
      }
    }
    return;
  }
  const int64_t padded = std::max(length, p.min_samples);
  for (int n = 0; n < p.n_fft; ++n) {
    int64_t i = start + n;
    if (p.center && padded > 1) {  // torch.stft reflect padding of the zero-padded signal
      if (i < 0) i = -i;
      if (i >= padded) i = 2 * (padded - 1) - i;
    }
    const float v = (i >= 0 && i < length) ? x[i] * w[n] : 0.0f;
    if (!plan.packed) {
      re[size_t(n) * LANES] = v;
      im[size_t(n) * LANES] = 0.0f;
    } else {
      ((n & 1) ? im : re)[size_t(n >> 1) * LANES] = v;
    }
  }
}

void zero_lane(const Plan& plan, vf* vre, vf* vim, int lane) {
  float* re = reinterpret_cast<float*>(vre) + lane;
  float* im = reinterpret_cast<float*>(vim) + lane;
  for (int n = 0; n < plan.n_complex; ++n) re[size_t(n) * LANES] = im[size_t(n) * LANES] = 0.0f;
}

// |X[k]|^2 of the real frames from their FFT Z. Packed (M = n / 2):
// X[k] = E[k] + w_n^k O[k], E = (Z[k] + conj Z[M-k]) / 2, O = (Z[k] - conj Z[M-k]) / 2i.
void power_spectrum(const Plan& plan, const vf* xr, const vf* xi, vf* power) {
  const int m = plan.n_complex;
  for (int k = 0; k < plan.n_freqs; ++k) {
    const vf zr = xr[k % m], zi = xi[k % m];
    if (!plan.packed) {
      power[k] = zr * zr + zi * zi;
      continue;
    }
    const vf cr = xr[(m - k % m) % m], ci = xi[(m - k % m) % m];
    const float wr = plan.unpack_re[k], wi = plan.unpack_im[k];
    const vf er = 0.5f * (zr + cr), ei = 0.5f * (zi - ci);
    const vf odr = 0.5f * (zi + ci), odi = -0.5f * (zr - cr);
    const vf re = er + wr * odr - wi * odi;
    const vf im = ei + wr * odi + wi * odr;
    power[k] = re * re + im * im;
  }
}

// One block of up to LANES frames of utterance b: writes raw log-mel, returns its max.
float run_block(const Job& job, Worker& wk, int64_t b, int64_t f0, int64_t f_end) {
  const LogMelBatch& B = job.batch;
  const Plan& plan = job.plan;
  const float* x = B.waves + b * B.stride;
  const int64_t length = B.lengths[b];
  for (int l = 0; l < LANES; ++l) {
    if (f0 + l < f_end) load_frame(job, x, length, f0 + l, wk.xr, wk.xi, l);
    else zero_lane(plan, wk.xr, wk.xi, l);
  }
  vf *xr = wk.xr, *xi = wk.xi, *yr = wk.yr, *yi = wk.yi;
  fft(plan, xr, xi, yr, yi);
  power_spectrum(plan, xr, xi, wk.power);
  const int64_t valid = std::clamp<int64_t>(f_end - f0, 0, LANES);
  vf block_max = splat(-std::numeric_limits<float>::infinity());
  for (int m = 0; m < job.params.n_mels; ++m) {
    const Band& band = plan.bands[m];
    const float* wts = plan.weights.data() + band.offset;
    vf acc{};
    for (int k = 0; k < band.count; ++k) acc += wts[k] * wk.power[band.start + k];
    const vf out = to_log(job, acc);
    block_max = block_max > out ? block_max : out;
    float* row = B.out + (b * job.params.n_mels + m) * B.max_frames + f0;
    for (int64_t l = 0; l < valid; ++l) row[l] = out[l];
  }
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t l = 0; l < valid; ++l) mx = std::max(mx, block_max[l]);
  return mx;
}

template <typename Fn>
void parallel_for(int64_t tasks, int threads, Fn fn) {
  threads = int(std::max<int64_t>(1, std::min<int64_t>(threads, tasks)));
  std::atomic<int64_t> next{0};
  auto body = [&](int tid) {
    for (int64_t t = next.fetch_add(1); t < tasks; t = next.fetch_add(1)) fn(tid, t);
  };
  std::vector<std::thread> pool;
  for (int tid = 1; tid < threads; ++tid) pool.emplace_back(body, tid);
  body(0);
  for (auto& th : pool) th.join();
}

}  // namespace

void LANSER_ENTRY(const LogMelBatch& batch, const LogMelParams& params, int threads) {
  const Plan plan = make_plan(params, batch.filters);
  const float log_scale = params.log10 ? float(1.0 / std::log(10.0)) : 1.0f;
  Job job{batch, params, plan, log_scale, 0.0f};
  job.silent_raw = to_log(job, vf{})[0];

  // Pass 1: raw log-mel of every frame that can hold audio, per-utterance maxima.
  std::vector<std::pair<int64_t, int64_t>> tasks;  // (utterance, first frame)
  std::vector<int64_t> active(batch.batch);
  for (int64_t b = 0; b < batch.batch; ++b) {
    active[b] = active_frames(params, batch.lengths[b], batch.n_frames[b]);
    for (int64_t f = 0; f < active[b]; f += LANES) tasks.emplace_back(b, f);
  }
  const int64_t n_tasks = int64_t(tasks.size());
  threads = int(std::max<int64_t>(1, std::min<int64_t>(std::max(1, threads), n_tasks)));
  std::vector<float> maxima(size_t(threads) * batch.batch,
                            -std::numeric_limits<float>::infinity());
  std::vector<std::unique_ptr<Worker>> workers(threads);
  parallel_for(n_tasks, threads, [&](int tid, int64_t t) {
    if (!workers[tid]) workers[tid] = std::make_unique<Worker>(plan);
    const auto [b, f0] = tasks[t];
    const float mx = run_block(job, *workers[tid], b, f0, std::min(active[b], f0 + LANES));
    float& slot = maxima[size_t(tid) * batch.batch + b];
    slot = std::max(slot, mx);
  });

  // Pass 2: silent frames, floor at max - dynamic_range, affine output scaling, padding.
  const float inv_scale = 1.0f / params.out_scale;
  const int64_t rows = batch.batch * params.n_mels;
  parallel_for(rows, threads, [&](int, int64_t r) {
    const int64_t b = r / params.n_mels;
    const int64_t frames = batch.n_frames[b];
    float mx = -std::numeric_limits<float>::infinity();
    for (int tid = 0; tid < threads; ++tid) mx = std::max(mx, maxima[size_t(tid) * batch.batch + b]);
    if (active[b] < frames) mx = std::max(mx, job.silent_raw);
    const float floor = params.has_range ? mx - params.dynamic_range
                                         : -std::numeric_limits<float>::infinity();
    float* row = batch.out + r * batch.max_frames;
    for (int64_t f = active[b]; f < frames; ++f) row[f] = job.silent_raw;
    for (int64_t f = 0; f < frames; ++f)
      row[f] = (std::max(row[f], floor) + params.out_shift) * inv_scale;
    const float pad = (std::max(job.silent_raw, floor) + params.out_shift) * inv_scale;
    for (int64_t f = frames; f < batch.max_frames; ++f) row[f] = pad;
  });
}

}  // namespace lanser
