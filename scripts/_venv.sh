# Shared by scripts/start and scripts/test: make .venv with Python 3.11+ and
# install os1 into it with the given extras. Idempotent and quiet when done before.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
python="${PYTHON:-python3}"
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "os1 needs Python 3.11 or newer (found: $("$python" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating .venv ..."
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
pip=(.venv/bin/python -m pip install --quiet)
extras="$1"

# llama.cpp is compiled for this CPU, with flags pip's wheel cache does not know
# about, so os1 keeps its own wheel per (version, flags) and installs that.
LLAMA_VERSION=0.3.36
if [[ ",$extras," == *",embedded,"* || ",$extras," == *",local,"* ]]; then
  flags="$(bash scripts/llama_build_flags.sh)"
  key="$(printf '%s|%s|%s' "$LLAMA_VERSION" "$flags" "$(.venv/bin/python -V)" | sha256sum | cut -c1-12)"
  if [ ! -f ".venv/.llama-$key" ]; then
    wheels="${XDG_CACHE_HOME:-$HOME/.cache}/os1/wheels/llama-$key"
    if ! compgen -G "$wheels/llama_cpp_python-*.whl" >/dev/null; then
      echo "Building llama.cpp for this CPU (once; about 5-10 minutes on 2 cores) ..."
      rm -rf "$wheels.partial"
      CMAKE_ARGS="$flags" .venv/bin/python -m pip wheel --quiet --no-cache-dir --no-deps \
        -w "$wheels.partial" "llama-cpp-python==$LLAMA_VERSION"
      mv "$wheels.partial" "$wheels"
    fi
    "${pip[@]}" --force-reinstall --no-deps "$wheels"/llama_cpp_python-*.whl
    "${pip[@]}" "$(ls "$wheels"/llama_cpp_python-*.whl)"  # its dependencies
    touch ".venv/.llama-$key"
  fi
fi

stamp=".venv/.os1-installed-$(echo "$extras" | tr ',' '-')"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "Installing os1[$extras] into .venv ..."
  "${pip[@]}" -e ".[$extras]"
  touch "$stamp"
fi
# smart-turn v3.2 ships inside the pipecat-ai wheel; os1 reads only its ONNX file.
if [[ ",$extras," == *",embedded,"* || ",$extras," == *",voice,"* ]]; then
  if ! .venv/bin/python -c 'import importlib.util as u; exit(u.find_spec("pipecat") is None)'; then
    "${pip[@]}" --no-deps "pipecat-ai==1.14.0"
  fi
fi
export HF_HUB_OFFLINE=1
