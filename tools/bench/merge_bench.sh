#!/usr/bin/env bash
# Merge benchmark (issue: lorakit merge). Generates N random rank-R adapters with Llama-2-7B
# shapes (32 layers x q,k,v,o 4096x4096, gate/up 11008x4096, down 4096x11008) and times every
# method end to end (reading, merging, error figures, writing) with a 2 GiB heap cap.
# Usage: tools/bench/merge_bench.sh [WORK_DIR] [METHODS...]
#   default methods: lego cat svd fusion knots (the dense task-vector methods take minutes at
#   these shapes: pass them explicitly, e.g. ties magnitude dare-ties).
# Environment: N (inputs, 8), RANK (16), DTYPE (bf16), HEAP (2g).
set -euo pipefail
root="$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)"
work="${1:-/tmp/lorakit-merge-bench}"
shift || true
methods=("$@")
[ ${#methods[@]} -gt 0 ] || methods=(lego cat svd fusion knots)
n="${N:-8}"; rank="${RANK:-16}"; dtype="${DTYPE:-bf16}"; heap="${HEAP:-2g}"
mkdir -p "$work"
inputs=()
for i in $(seq 1 "$n"); do
  a="$work/in/a$i"
  if [ ! -f "$a/adapter_model.safetensors" ]; then
    "$root/lorakit" synth adapter --preset llama2-7b --rank "$rank" --alpha $((2 * rank)) --dtype "$dtype" \
      --seed "$i" --quiet -o "$a" >/dev/null
  fi
  inputs+=("$a")
done
echo "inputs: $n x rank $rank ($dtype), $(du -sh "$work/in" | cut -f1) on disk; heap cap $heap; $(nproc) cores"
printf '%-12s %8s %8s %6s %12s %12s %12s\n' method seconds wall_s rank mean_error peak_heap_MiB peak_rss_MiB
for m in "${methods[@]}"; do
  out="$work/out-$m"
  start=$(date +%s.%N)
  json=$(LORAKIT_JAVA_OPTS="-Xmx$heap" "$root/lorakit" merge --method "$m" --json -o "$out" "${inputs[@]}")
  end=$(date +%s.%N)
  python3 - "$m" "$start" "$end" <<PY
import json, sys
r = json.loads('''$json''')
m, s, e = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
print(f"{m:<12} {r['seconds']:8.2f} {e - s:8.2f} {r['rank']:6d} {r['mean_relative_error']:12.4g} "
      f"{r['peak_heap_bytes'] / 2**20:12.0f} {r['peak_rss_bytes'] / 2**20:12.0f}")
PY
  rm -rf "$out"
done
