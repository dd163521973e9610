// Python bindings (nanobind) for the compiled ops. Arrays cross via DLPack / the buffer protocol,
// so torch tensors and numpy arrays are both accepted without copies and nothing links libtorch.
#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>
#include <vector>

#include "logmel.h"

namespace nb = nanobind;

namespace {

using lanser::LogMelFn;

struct Isa {
  const char* name;
  LogMelFn fn;
};

// Kernels this CPU can run, best first.
std::vector<Isa> supported_isas() {
  std::vector<Isa> isas;
#if defined(LANSER_X86)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
    isas.push_back({"avx512", lanser::log_mel_avx512});
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    isas.push_back({"avx2", lanser::log_mel_avx2});
#endif
  isas.push_back({"baseline", lanser::log_mel_base});
  return isas;
}

const std::vector<Isa>& isas() {
  static const std::vector<Isa> found = supported_isas();
  return found;
}

LogMelFn kernel_for(const std::string& name) {
  if (name.empty()) return isas().front().fn;
  for (const Isa& isa : isas())
    if (name == isa.name) return isa.fn;
  throw nb::value_error(("instruction set '" + name + "' is not supported by this CPU").c_str());
}

using Waves = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;
using Ints = nb::ndarray<const int64_t, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Out = nb::ndarray<float, nb::ndim<3>, nb::c_contig, nb::device::cpu>;
using Vec = nb::ndarray<const float, nb::ndim<1>, nb::c_contig, nb::device::cpu>;
using Mat = nb::ndarray<const float, nb::ndim<2>, nb::c_contig, nb::device::cpu>;

void log_mel(Waves waves, Ints lengths, Ints n_frames, Out out, Vec window, Mat filters,
             int n_fft, int hop, bool center, int64_t min_samples, bool log10, float clamp_min,
             float add_eps, bool has_range, float dynamic_range, float out_shift,
             float out_scale, int threads, const std::string& isa) {
  const int64_t batch = int64_t(waves.shape(0));
  if (int64_t(lengths.shape(0)) != batch || int64_t(n_frames.shape(0)) != batch ||
      int64_t(out.shape(0)) != batch)
    throw nb::value_error("waves, lengths, n_frames and out must share the batch size");
  if (n_fft < 2 || hop < 1) throw nb::value_error("n_fft must be >= 2 and hop >= 1");
  if (int64_t(window.shape(0)) != n_fft) throw nb::value_error("window length must equal n_fft");
  if (int64_t(filters.shape(1)) != n_fft / 2 + 1 || filters.shape(0) != out.shape(1))
    throw nb::value_error("filters must be (n_mels, n_fft // 2 + 1) with n_mels = out.shape[1]");
  for (int64_t b = 0; b < batch; ++b) {
    if (lengths(b) < 0 || lengths(b) > int64_t(waves.shape(1)))
      throw nb::value_error("lengths must lie in [0, waves.shape[1]]");
    if (n_frames(b) < 0 || n_frames(b) > int64_t(out.shape(2)))
      throw nb::value_error("n_frames must lie in [0, out.shape[2]]");
  }
  const LogMelFn kernel = kernel_for(isa);
  lanser::LogMelParams params;
  params.n_fft = n_fft;
  params.hop = hop;
  params.n_mels = int(filters.shape(0));
  params.center = center;
  params.min_samples = min_samples;
  params.log10 = log10;
  params.clamp_min = clamp_min;
  params.add_eps = add_eps;
  params.has_range = has_range;
  params.dynamic_range = dynamic_range;
  params.out_shift = out_shift;
  params.out_scale = out_scale;
  lanser::LogMelBatch job{waves.data(), batch, int64_t(waves.shape(1)), lengths.data(),
                          n_frames.data(), out.data(), int64_t(out.shape(2)), window.data(),
                          filters.data()};
  nb::gil_scoped_release release;
  kernel(job, params, threads);
}

}  // namespace

NB_MODULE(_lanser_csrc, m) {
  m.doc() = "lanser-fast compiled CPU ops (see csrc/)";
  m.def("isa", [] { return std::string(isas().front().name); },
        "Instruction set the kernels dispatch to (avx512, avx2 or baseline).");
  m.def("isas", [] {
        std::vector<std::string> names;
        for (const Isa& isa : isas()) names.push_back(isa.name);
        return names;
      }, "Every kernel instruction set this CPU can run, best first.");
  m.def("log_mel", &log_mel, nb::arg("waves"), nb::arg("lengths"), nb::arg("n_frames"),
        nb::arg("out"), nb::arg("window"), nb::arg("filters"), nb::arg("n_fft"), nb::arg("hop"),
        nb::arg("center"), nb::arg("min_samples"), nb::arg("log10"), nb::arg("clamp_min"),
        nb::arg("add_eps"), nb::arg("has_range"), nb::arg("dynamic_range"),
        nb::arg("out_shift"), nb::arg("out_scale"), nb::arg("threads"), nb::arg("isa") = "",
        "Fused log-mel of a padded batch into `out` (batch, n_mels, max_frames); releases the GIL.");
}
