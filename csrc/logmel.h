// Log-mel spectrogram on the CPU: the compiled op behind lanser_fast.features.log_mel.
//
// The kernel (logmel_kernel.cpp) is compiled once per instruction set (AVX-512, AVX2+FMA,
// baseline) and the module picks the best one the CPU supports at load time, so one wheel runs
// everywhere and still uses 512-bit vectors where they exist.
#pragma once

#include <cstdint>
#include <vector>

namespace lanser {

// Mirror of lanser_fast.features.presets.Preset (only what the kernel needs).
struct LogMelParams {
  int n_fft = 400;
  int hop = 160;
  int n_mels = 80;
  bool center = true;           // reflect-pad n_fft / 2 on both sides
  bool drop_last_frame = true;  // frame count already reflects this; kept for clarity
  int64_t min_samples = 0;      // zero-pad shorter clips to this length before framing
  bool log10 = true;
  float clamp_min = 1e-10f;
  float add_eps = 0.0f;
  bool has_range = true;        // floor at utterance max - dynamic_range
  float dynamic_range = 8.0f;
  float out_shift = 4.0f;
  float out_scale = 4.0f;
};

struct LogMelBatch {
  const float* waves;      // (batch, stride) padded audio
  int64_t batch;
  int64_t stride;          // row stride of waves in floats
  const int64_t* lengths;  // (batch,) true lengths
  const int64_t* n_frames; // (batch,) output frames per utterance
  float* out;              // (batch, n_mels, max_frames)
  int64_t max_frames;
  const float* window;     // (n_fft,)
  const float* filters;    // (n_mels, n_fft / 2 + 1) dense mel filter bank
};

using LogMelFn = void (*)(const LogMelBatch&, const LogMelParams&, int threads);

// One entry point per instruction set; nullptr-safe selection happens in module.cpp.
void log_mel_avx512(const LogMelBatch&, const LogMelParams&, int threads);
void log_mel_avx2(const LogMelBatch&, const LogMelParams&, int threads);
void log_mel_base(const LogMelBatch&, const LogMelParams&, int threads);

}  // namespace lanser
