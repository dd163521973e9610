// Fused log-mel kernel: framing + window, FFT, power, sparse mel, log, per-utterance floor.
//
// Vectorization is across frames, not within one: every value below is a group of LANES frames
// side by side (layout [position][lane]), so each scalar FFT butterfly becomes one SIMD
// instruction and the compiler vectorizes plain loops. A real frame of even length n is packed
// into a complex sequence of n / 2 (even samples real, odd samples imaginary) and unpacked after
// the FFT, which halves the work; packing one frame (not two frames into the real and imaginary
// parts) keeps each frame's rounding error relative to its own energy, which matters for quiet
// frames next to loud ones. The FFT is a mixed-radix Stockham transform (radix 4, 2, 5, 3 and a
// generic radix for other primes), so any n_fft works; 400 / 2 = 4 * 2 * 5 * 5.
//
// This file is compiled once per instruction set; LANSER_ENTRY names the entry point.
#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "logmel.h"

#ifndef LANSER_ENTRY
#error "compile with -DLANSER_ENTRY=<entry point name>"
#endif

namespace lanser {
namespace {

constexpr int LANES = 16;           // frames per lane group (one AVX-512 register of floats)
constexpr int BLOCK = LANES;        // frames per FFT call
constexpr double kPi = 3.14159265358979323846;

struct Stage {
  int p = 0;  // radix
  int m = 0;  // sub-transform length after this stage
  int s = 0;  // stride (product of the radices before this stage)
  std::vector<float> tw_re, tw_im;  // twiddles w_{n_cur}^{q r}, index q * p + r
  std::vector<float> root_re, root_im;  // p-th roots of unity (generic radix), index j * p + r
};

struct Band {
  int start = 0;  // first non-zero FFT bin
  int count = 0;  // non-zero bins
  int offset = 0; // into Plan::weights
};

struct Plan {
  int n = 0;        // n_fft
  int n_freqs = 0;  // n_fft / 2 + 1
  bool packed = false;  // even n_fft: complex FFT of n / 2 points plus an unpacking step
  int n_complex = 0;    // complex FFT length (n / 2 when packed, else n)
  std::vector<float> unpack_re, unpack_im;  // w_n^k, k = 0 .. n / 2
  std::vector<Stage> stages;
  std::vector<Band> bands;
  std::vector<float> weights;
};

std::vector<int> factorize(int n) {
  std::vector<int> radices;
  while (n % 4 == 0) { radices.push_back(4); n /= 4; }
  for (int p : {2, 3, 5}) while (n % p == 0) { radices.push_back(p); n /= p; }
  for (int p = 7; n > 1; p += 2) while (n % p == 0) { radices.push_back(p); n /= p; }
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
    st.tw_re.resize(size_t(st.m) * p);
    st.tw_im.resize(size_t(st.m) * p);
    for (int q = 0; q < st.m; ++q)
      for (int r = 0; r < p; ++r) {
        double angle = -2.0 * kPi * double(q) * double(r) / double(n_cur);
        st.tw_re[size_t(q) * p + r] = float(std::cos(angle));
        st.tw_im[size_t(q) * p + r] = float(std::sin(angle));
      }
    st.root_re.resize(size_t(p) * p);
    st.root_im.resize(size_t(p) * p);
    for (int j = 0; j < p; ++j)
      for (int r = 0; r < p; ++r) {
        double angle = -2.0 * kPi * double((j * r) % p) / double(p);
        st.root_re[size_t(j) * p + r] = float(std::cos(angle));
        st.root_im[size_t(j) * p + r] = float(std::sin(angle));
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

// ---- FFT butterflies on lane groups: `width` contiguous floats per operand -------------------

inline void twiddle(float* __restrict re, float* __restrict im, float wr, float wi, int width) {
  for (int t = 0; t < width; ++t) {
    float r = re[t], i = im[t];
    re[t] = r * wr - i * wi;
    im[t] = r * wi + i * wr;
  }
}

void radix2(const float* __restrict xr, const float* __restrict xi, float* __restrict yr,
            float* __restrict yi, const Stage& st, int q, int width) {
  const size_t span = size_t(st.s) * LANES * st.m;  // distance between inputs j and j + 1
  const float* a0r = xr; const float* a0i = xi;
  const float* a1r = xr + span; const float* a1i = xi + span;
  float* b0r = yr; float* b0i = yi;
  float* b1r = yr + width; float* b1i = yi + width;
  const float w1r = st.tw_re[size_t(q) * 2 + 1], w1i = st.tw_im[size_t(q) * 2 + 1];
  for (int t = 0; t < width; ++t) {
    float dr = a0r[t] - a1r[t], di = a0i[t] - a1i[t];
    b0r[t] = a0r[t] + a1r[t];
    b0i[t] = a0i[t] + a1i[t];
    b1r[t] = dr * w1r - di * w1i;
    b1i[t] = dr * w1i + di * w1r;
  }
}

void radix4(const float* __restrict xr, const float* __restrict xi, float* __restrict yr,
            float* __restrict yi, const Stage& st, int q, int width) {
  const size_t span = size_t(st.s) * LANES * st.m;
  const float* tr = st.tw_re.data() + size_t(q) * 4;
  const float* ti = st.tw_im.data() + size_t(q) * 4;
  const float w1r = tr[1], w1i = ti[1], w2r = tr[2], w2i = ti[2], w3r = tr[3], w3i = ti[3];
  for (int t = 0; t < width; ++t) {
    float a0r = xr[t], a0i = xi[t];
    float a1r = xr[t + span], a1i = xi[t + span];
    float a2r = xr[t + 2 * span], a2i = xi[t + 2 * span];
    float a3r = xr[t + 3 * span], a3i = xi[t + 3 * span];
    float t0r = a0r + a2r, t0i = a0i + a2i, t1r = a0r - a2r, t1i = a0i - a2i;
    float t2r = a1r + a3r, t2i = a1i + a3i, t3r = a1r - a3r, t3i = a1i - a3i;
    // b1 = t1 - i t3, b2 = t0 - t2, b3 = t1 + i t3 (forward transform, w_4 = -i)
    float b1r = t1r + t3i, b1i = t1i - t3r;
    float b2r = t0r - t2r, b2i = t0i - t2i;
    float b3r = t1r - t3i, b3i = t1i + t3r;
    yr[t] = t0r + t2r;
    yi[t] = t0i + t2i;
    yr[t + width] = b1r * w1r - b1i * w1i;
    yi[t + width] = b1r * w1i + b1i * w1r;
    yr[t + 2 * width] = b2r * w2r - b2i * w2i;
    yi[t + 2 * width] = b2r * w2i + b2i * w2r;
    yr[t + 3 * width] = b3r * w3r - b3i * w3i;
    yi[t + 3 * width] = b3r * w3i + b3i * w3r;
  }
}

void radix5(const float* __restrict xr, const float* __restrict xi, float* __restrict yr,
            float* __restrict yi, const Stage& st, int q, int width) {
  const size_t span = size_t(st.s) * LANES * st.m;
  const float c1 = float(std::cos(2 * kPi / 5)), c2 = float(std::cos(4 * kPi / 5));
  const float s1 = float(std::sin(2 * kPi / 5)), s2 = float(std::sin(4 * kPi / 5));
  const float* tr = st.tw_re.data() + size_t(q) * 5;
  const float* ti = st.tw_im.data() + size_t(q) * 5;
  for (int t = 0; t < width; ++t) {
    float a0r = xr[t], a0i = xi[t];
    float a1r = xr[t + span], a1i = xi[t + span];
    float a2r = xr[t + 2 * span], a2i = xi[t + 2 * span];
    float a3r = xr[t + 3 * span], a3i = xi[t + 3 * span];
    float a4r = xr[t + 4 * span], a4i = xi[t + 4 * span];
    float p1r = a1r + a4r, p1i = a1i + a4i, m1r = a1r - a4r, m1i = a1i - a4i;
    float p2r = a2r + a3r, p2i = a2i + a3i, m2r = a2r - a3r, m2i = a2i - a3i;
    float c1r = a0r + c1 * p1r + c2 * p2r, c1i = a0i + c1 * p1i + c2 * p2i;
    float c2r = a0r + c2 * p1r + c1 * p2r, c2i = a0i + c2 * p1i + c1 * p2i;
    float d1r = s1 * m1r + s2 * m2r, d1i = s1 * m1i + s2 * m2i;
    float d2r = s2 * m1r - s1 * m2r, d2i = s2 * m1i - s1 * m2i;
    // b1 = c1 - i d1, b4 = c1 + i d1, b2 = c2 - i d2, b3 = c2 + i d2
    float b[5][2] = {{a0r + p1r + p2r, a0i + p1i + p2i},
                     {c1r + d1i, c1i - d1r},
                     {c2r + d2i, c2i - d2r},
                     {c2r - d2i, c2i + d2r},
                     {c1r - d1i, c1i + d1r}};
    yr[t] = b[0][0];
    yi[t] = b[0][1];
    for (int r = 1; r < 5; ++r) {
      yr[t + r * width] = b[r][0] * tr[r] - b[r][1] * ti[r];
      yi[t + r * width] = b[r][0] * ti[r] + b[r][1] * tr[r];
    }
  }
}

void radix_generic(const float* __restrict xr, const float* __restrict xi, float* __restrict yr,
                   float* __restrict yi, const Stage& st, int q, int width) {
  const size_t span = size_t(st.s) * LANES * st.m;
  const int p = st.p;
  for (int r = 0; r < p; ++r) {
    float* outr = yr + size_t(r) * width;
    float* outi = yi + size_t(r) * width;
    std::fill(outr, outr + width, 0.0f);
    std::fill(outi, outi + width, 0.0f);
    for (int j = 0; j < p; ++j) {
      const float wr = st.root_re[size_t(j) * p + r], wi = st.root_im[size_t(j) * p + r];
      const float* ar = xr + j * span;
      const float* ai = xi + j * span;
      for (int t = 0; t < width; ++t) {
        outr[t] += ar[t] * wr - ai[t] * wi;
        outi[t] += ar[t] * wi + ai[t] * wr;
      }
    }
    twiddle(outr, outi, st.tw_re[size_t(q) * p + r], st.tw_im[size_t(q) * p + r], width);
  }
}

// In-place (via ping-pong buffers) forward FFT of LANES complex sequences; returns the buffer
// pair that holds the result.
void fft(const Plan& plan, float*& xr, float*& xi, float*& yr, float*& yi) {
  for (const Stage& st : plan.stages) {
    const int width = st.s * LANES;
    for (int q = 0; q < st.m; ++q) {
      const float* inr = xr + size_t(q) * width;
      const float* ini = xi + size_t(q) * width;
      float* outr = yr + size_t(st.p) * q * width;
      float* outi = yi + size_t(st.p) * q * width;
      switch (st.p) {
        case 2: radix2(inr, ini, outr, outi, st, q, width); break;
        case 4: radix4(inr, ini, outr, outi, st, q, width); break;
        case 5: radix5(inr, ini, outr, outi, st, q, width); break;
        default: radix_generic(inr, ini, outr, outi, st, q, width); break;
      }
    }
    std::swap(xr, yr);
    std::swap(xi, yi);
  }
}

// Natural log, vectorizable (no libm call): exponent from the bits, atanh series for the
// mantissa in [sqrt(1/2), sqrt(2)). Max relative error ~1e-7 over positive normal floats.
inline float fast_ln(float x) {
  const bool zero = !(x > 0.0f);
  const bool tiny = x < std::numeric_limits<float>::min();
  x = tiny ? x * 8388608.0f : x;  // 2^23: renormalize subnormals
  uint32_t bits = std::bit_cast<uint32_t>(x);
  int exponent = int((bits >> 23) & 0xffu) - 127 - (tiny ? 23 : 0);
  float mant = std::bit_cast<float>((bits & 0x007fffffu) | 0x3f800000u);  // [1, 2)
  const bool high = mant > 1.41421356f;
  mant = high ? mant * 0.5f : mant;
  exponent += high ? 1 : 0;
  const float s = (mant - 1.0f) / (mant + 1.0f);
  const float s2 = s * s;
  const float series =
      s * (2.0f + s2 * (0.666666667f + s2 * (0.4f + s2 * (0.285714286f + s2 * 0.222222222f))));
  const float ln = series + float(exponent) * 0.693147181f;
  return zero ? -std::numeric_limits<float>::infinity() : ln;
}

struct Worker {
  std::vector<float> buf;  // 4 FFT buffers + the power spectrum
  float *xr, *xi, *yr, *yi, *power;
  explicit Worker(const Plan& plan) {
    const size_t n = size_t(plan.n_complex) * LANES, f = size_t(plan.n_freqs) * LANES;
    buf.assign(4 * n + f, 0.0f);
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

inline float to_log(const Job& job, float power) {
  float v = std::max(power, job.params.clamp_min) + job.params.add_eps;
  return fast_ln(v) * job.log_scale;
}

// Frames that can hold audio; later frames see only zero padding and are silent.
int64_t active_frames(const LogMelParams& p, int64_t length, int64_t n_frames) {
  const int64_t padded = std::max(length, p.min_samples);
  if (padded - length < int64_t(p.n_fft)) return n_frames;  // reflection may reach the audio
  const int64_t offset = p.center ? p.n_fft / 2 : 0;
  // frame f starts at f * hop - offset; it holds audio while that is below length
  return std::min(n_frames, (length + offset + p.hop - 1) / p.hop);
}

// Store windowed sample n of a frame into lane `lane`: packed, even samples go to the real
// part and odd ones to the imaginary part of point n / 2; unpacked, all go to the real part.
inline void put(const Plan& plan, float* re, float* im, int n, int lane, float v) {
  if (plan.packed) {
    float* dst = (n & 1) ? im : re;
    dst[size_t(n >> 1) * LANES + lane] = v;
  } else {
    re[size_t(n) * LANES + lane] = v;
  }
}

// Window one frame into lane `lane` of the FFT input.
void load_frame(const Job& job, const float* x, int64_t length, int64_t frame, float* re,
                float* im, int lane) {
  const LogMelParams& p = job.params;
  const Plan& plan = job.plan;
  const float* w = job.batch.window;
  const int64_t start = frame * p.hop - (p.center ? p.n_fft / 2 : 0);
  if (!plan.packed)
    for (int n = 0; n < plan.n_complex; ++n) im[size_t(n) * LANES + lane] = 0.0f;
  if (start >= 0 && start + p.n_fft <= length) {
    const float* src = x + start;
    if (plan.packed) {
      for (int n = 0; n < plan.n_complex; ++n) {
        re[size_t(n) * LANES + lane] = src[2 * n] * w[2 * n];
        im[size_t(n) * LANES + lane] = src[2 * n + 1] * w[2 * n + 1];
      }
    } else {
      for (int n = 0; n < p.n_fft; ++n) re[size_t(n) * LANES + lane] = src[n] * w[n];
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
    const float v = (i >= 0 && i < length) ? x[i] : 0.0f;
    put(plan, re, im, n, lane, v * w[n]);
  }
}

void zero_lane(const Plan& plan, float* re, float* im, int lane) {
  for (int n = 0; n < plan.n_complex; ++n) {
    re[size_t(n) * LANES + lane] = 0.0f;
    im[size_t(n) * LANES + lane] = 0.0f;
  }
}

// |X[k]|^2 of the real frames from their FFT Z. Packed (M = n / 2):
// X[k] = E[k] + w_n^k O[k], E = (Z[k] + conj Z[M-k]) / 2, O = (Z[k] - conj Z[M-k]) / 2i.
void power_spectrum(const Plan& plan, const float* xr, const float* xi, float* power) {
  const int m = plan.n_complex;
  for (int k = 0; k < plan.n_freqs; ++k) {
    const float* zr = xr + size_t(k % m) * LANES;
    const float* zi = xi + size_t(k % m) * LANES;
    float* out = power + size_t(k) * LANES;
    if (!plan.packed) {
      for (int l = 0; l < LANES; ++l) out[l] = zr[l] * zr[l] + zi[l] * zi[l];
      continue;
    }
    const float* cr = xr + size_t((m - k % m) % m) * LANES;
    const float* ci = xi + size_t((m - k % m) % m) * LANES;
    const float wr = plan.unpack_re[k], wi = plan.unpack_im[k];
    for (int l = 0; l < LANES; ++l) {
      const float er = 0.5f * (zr[l] + cr[l]), ei = 0.5f * (zi[l] - ci[l]);
      const float or_ = 0.5f * (zi[l] + ci[l]), oi = -0.5f * (zr[l] - cr[l]);
      const float re = er + wr * or_ - wi * oi;
      const float im = ei + wr * oi + wi * or_;
      out[l] = re * re + im * im;
    }
  }
}

// One block of up to BLOCK frames of utterance b: writes raw log-mel, returns its max.
float run_block(const Job& job, Worker& wk, int64_t b, int64_t f0, int64_t f_end) {
  const LogMelBatch& B = job.batch;
  const Plan& plan = job.plan;
  const float* x = B.waves + b * B.stride;
  const int64_t length = B.lengths[b];
  for (int l = 0; l < LANES; ++l) {
    if (f0 + l < f_end) load_frame(job, x, length, f0 + l, wk.xr, wk.xi, l);
    else zero_lane(plan, wk.xr, wk.xi, l);
  }
  float *xr = wk.xr, *xi = wk.xi, *yr = wk.yr, *yi = wk.yi;
  fft(plan, xr, xi, yr, yi);
  power_spectrum(plan, xr, xi, wk.power);
  float block_max = -std::numeric_limits<float>::infinity();
  const int64_t valid = std::clamp<int64_t>(f_end - f0, 0, LANES);
  for (int m = 0; m < job.params.n_mels; ++m) {
    const Band& band = plan.bands[m];
    const float* wts = plan.weights.data() + band.offset;
    float acc[LANES] = {};
    for (int k = 0; k < band.count; ++k) {
      const float wt = wts[k];
      const float* pw = wk.power + size_t(band.start + k) * LANES;
      for (int l = 0; l < LANES; ++l) acc[l] += wt * pw[l];
    }
    float out[LANES];
    for (int l = 0; l < LANES; ++l) out[l] = to_log(job, acc[l]);
    float* row = B.out + (b * job.params.n_mels + m) * B.max_frames + f0;
    for (int64_t l = 0; l < valid; ++l) {
      row[l] = out[l];
      block_max = std::max(block_max, out[l]);
    }
  }
  return block_max;
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
  threads = std::max(1, threads);
  const Plan plan = make_plan(params, batch.filters);
  const float log_scale = params.log10 ? float(1.0 / std::log(10.0)) : 1.0f;
  Job job{batch, params, plan, log_scale, 0.0f};
  job.silent_raw = to_log(job, 0.0f);

  // Pass 1: raw log-mel of every frame that can hold audio, per-utterance maxima.
  std::vector<std::pair<int64_t, int64_t>> tasks;  // (utterance, first frame)
  std::vector<int64_t> active(batch.batch);
  for (int64_t b = 0; b < batch.batch; ++b) {
    active[b] = active_frames(params, batch.lengths[b], batch.n_frames[b]);
    for (int64_t f = 0; f < active[b]; f += BLOCK) tasks.emplace_back(b, f);
  }
  const int64_t n_tasks = int64_t(tasks.size());
  threads = int(std::max<int64_t>(1, std::min<int64_t>(threads, std::max<int64_t>(n_tasks, 1))));
  std::vector<float> maxima(size_t(threads) * batch.batch, -std::numeric_limits<float>::infinity());
  std::vector<Worker*> workers(threads, nullptr);
  parallel_for(n_tasks, threads, [&](int tid, int64_t t) {
    if (!workers[tid]) workers[tid] = new Worker(plan);
    const auto [b, f0] = tasks[t];
    const float mx = run_block(job, *workers[tid], b, f0, std::min(active[b], f0 + BLOCK));
    float& slot = maxima[size_t(tid) * batch.batch + b];
    slot = std::max(slot, mx);
  });
  for (Worker* w : workers) delete w;

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
