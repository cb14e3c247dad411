# Prints CMAKE_ARGS for building llama.cpp for this CPU.
# -march=native would also switch on Intel AMX where the CPU has it, and AMX
# crashes (SIGSEGV in the first batched decode) in VMs and sandboxes that do not
# grant the AMX tile state to processes. So: no native build, and every SIMD
# extension this CPU reports except AMX.
if [ "$(uname -m)" != x86_64 ]; then echo ""; exit 0; fi
flags="-DGGML_NATIVE=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
cpu="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)"
has() { [[ " $cpu " == *" $1 "* ]]; }
has avx && flags+=" -DGGML_AVX=ON"
has avx2 && flags+=" -DGGML_AVX2=ON"
has fma && flags+=" -DGGML_FMA=ON"
has f16c && flags+=" -DGGML_F16C=ON"
has bmi2 && flags+=" -DGGML_BMI2=ON"
has avx_vnni && flags+=" -DGGML_AVX_VNNI=ON"
if has avx512f && has avx512bw && has avx512dq && has avx512vl; then
  flags+=" -DGGML_AVX512=ON"
  has avx512_vnni && flags+=" -DGGML_AVX512_VNNI=ON"
  has avx512vbmi && flags+=" -DGGML_AVX512_VBMI=ON"
  has avx512_bf16 && flags+=" -DGGML_AVX512_BF16=ON"
fi
echo "$flags"
