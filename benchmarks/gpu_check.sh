#!/usr/bin/env bash
# The whole GPU check of the cupy backend in one call: correctness (numpy-vs-cupy parity) first, then
# the CLI, speed and memory against PyTorch, the CPU thread scaling, the test suite and the profiles.
#
#   bash benchmarks/gpu_check.sh [RESULTS_DIR]        # from the repository root; RESULTS_DIR defaults to $OUT, else ./gpu-results
#   QUICK=1 PYTHONPATH=<cupy-shim> bash benchmarks/gpu_check.sh /tmp/dry   # dry run on the CPU stand-in, small sizes
#
# Made for one H200 with CuPy 14.2 (CUDA 13), numpy, scipy, Pillow, pytest and PyTorch preinstalled, no
# TensorFlow, no package index; nothing is installed (the repository runs from PYTHONPATH). Under 9 minutes:
# every stage has a time limit and is skipped, and says so, once the budget (BUDGET seconds, 530) is spent;
# MINIGRAD_FUSED=0 is set for the rest of the run if the fused kernels fail the smoke test.
# Stage logs are RESULTS_DIR/<stage>.log; RESULTS_DIR/summary.txt has one line per stage plus the figures.
set -uo pipefail
PY=${PYTHON:-python3}
R=${1:-${OUT:-$PWD/gpu-results}}; mkdir -p "$R/cli"; R=$(cd "$R" && pwd)
QUICK=${QUICK:-}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
if [[ -n $QUICK ]]; then
  S=64; ITERS=10; SIZES="64 96"; GRAPH_SIZES="64"; CPU_MAX=64; THREADS="1 2"; REPEATS=2; PARITY=(--quick)
  BUDGET=${BUDGET:-1200}; TEST_LIMIT=400   # the stand-in is slow: a dry run checks the stages, not the budget
else
  S=512; ITERS=1000; SIZES="256 512 1024 2048"; GRAPH_SIZES="256 512"; CPU_MAX=512; THREADS="2 8 16"; REPEATS=3; PARITY=()
  BUDGET=${BUDGET:-530}; TEST_LIMIT=180
fi
T0=$(date +%s); : > "$R/summary.txt"

note() { echo "$*" | tee -a "$R/summary.txt"; }
elapsed() { echo $(( $(date +%s) - T0 )); }
stage() {  # stage NAME LIMIT_S CMD... : runs CMD into NAME.log, notes rc and seconds; returns CMD's rc
  local name=$1 limit=$2 left start rc; shift 2
  left=$(( BUDGET - $(elapsed) ))
  if (( left < 20 )); then note "$name: SKIPPED (budget of ${BUDGET} s spent)"; return 99; fi
  (( limit > left )) && limit=$left
  start=$(date +%s.%N)
  timeout -k 5 "$limit" "$@" > "$R/$name.log" 2>&1; rc=$?
  note "$name: rc=$rc, $(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s$( ((rc == 124)) && echo ", TIMED OUT after ${limit} s")"
  return $rc
}
seconds_of() { sed -nE "s/^$1: rc=0, ([0-9.]+) s.*/\1/p" "$R/summary.txt" | tail -1; }

# 0. the machine: GPU, driver, versions; a second CuPy package is the classic breakage
{ nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 || echo "nvidia-smi: not available"
  nvidia-smi 2>/dev/null | grep -m1 "CUDA Version" || true
  echo "python: $($PY -V 2>&1)"; nproc | sed 's/^/CPU cores: /'
  $PY -m pip list 2>/dev/null | grep -iE "^(cupy|numpy|scipy|pillow|pytest|torch|tensorflow|nvidia-cu)" || echo "pip list: unavailable"
  $PY -c "import cupy; cupy.show_config()" 2>&1 | head -40; } > "$R/env.txt" 2>&1
note "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'none found by nvidia-smi')"
(( $($PY -m pip list 2>/dev/null | grep -ciE '^cupy') > 1 )) && note "WARNING: more than one CuPy package installed (see env.txt)"

# 1. fail fast: nothing else is worth running if cupy, the device or cuBLAS do not work
stage smoke 120 $PY -m benchmarks.gpu_smoke; rc=$?; grep -E "^(ok|FAIL)" "$R/smoke.log" >> "$R/summary.txt"
if (( rc == 3 )); then export MINIGRAD_FUSED=0; note "the fused kernels failed: the rest runs the generic code (MINIGRAD_FUSED=0)"
elif (( rc != 0 )); then note "smoke test failed: stopping (see smoke.log, env.txt)"; exit 1; fi

# 2. correctness: numpy vs cupy for every op, the objective and the loop; the graph replay vs eager
stage parity 150 $PY -m benchmarks.gpu_parity --json "$R/parity.json" ${PARITY[@]+"${PARITY[@]}"}
grep -E "^FAIL|^parity:" "$R/parity.log" >> "$R/summary.txt"
graph_check() { stage graph_$1 90 $PY -m benchmarks.graph_check --size "$1" --steps 10; tail -1 "$R/graph_$1.log" >> "$R/summary.txt"; }
graph_check "${GRAPH_SIZES%% *}"

# 3. the CLI end to end at SxS on a full-size VGG-19 .mat of random weights: 2 iterations (start-up),
#    ITERS in FP32 and with --tf32; "under 20 s" is for the whole command, start-up included
stage cli_inputs 90 $PY benchmarks/cli_inputs.py "$R/cli" "$S"
CLI=($PY stylize_cli.py --content "$R/cli/content.png" --styles "$R/cli/style.png" --network "$R/cli/vgg.mat"
     --backend cupy --seed 0 --progress never --overwrite)
stage cli_start 90 "${CLI[@]}" --iterations 2 --output "$R/cli/start.png"
stage cli_fp32 120 "${CLI[@]}" --iterations "$ITERS" --print-iterations 100 --output "$R/cli/fp32.png"
stage cli_tf32 120 "${CLI[@]}" --iterations "$ITERS" --print-iterations 100 --output "$R/cli/tf32.png" --tf32
for run in fp32 tf32; do
  whole=$(seconds_of cli_$run); start=$(seconds_of cli_start)
  [[ -n $whole && -n $start ]] && note "CLI ${S}x$S $run: $ITERS iterations in $whole s end to end (target < 20 s), \
$(awk -v a="$whole" -v b="$start" -v n="$ITERS" 'BEGIN { printf "%.4f", (a - b) / (n - 2) }') s per iteration after start-up; \
last total loss $(grep "total loss" "$R/cli_$run.log" | tail -1 | awk '{print $3}')"
done

# 4. one iteration at every size: ours (FP32, TF32, CUDA graph) against PyTorch CUDA in the same run, peak memory
stage bench 240 $PY -m benchmarks.bench_gpu --sizes $SIZES --repeats "$REPEATS" --tf32 --graph-sizes $GRAPH_SIZES \
  --cpu-max-size "$CPU_MAX" --markdown "$R/bench.md"
[[ -s $R/bench.md ]] && cat "$R/bench.md" >> "$R/summary.txt"

# 5. the CPU: numpy vs PyTorch CPU at 2, 8, 16 threads
stage threads 120 $PY -m benchmarks.bench_threads --size "$S" --threads $THREADS --repeats 2 --markdown "$R/threads.md"
[[ -s $R/threads.md ]] && cat "$R/threads.md" >> "$R/summary.txt"

# 6. the tests, cupy bodies included (TensorFlow's comparisons skip, saying why, where it is missing);
#    then launches and per-op time on the GPU and on the CPU
if $PY -c "import tensorflow" 2>/dev/null; then NO_TF=(); else NO_TF=(--continue-on-collection-errors); fi
stage pytest "$TEST_LIMIT" $PY -m pytest -q -p no:cacheprovider -rfE --junitxml="$R/pytest.xml" ${NO_TF[@]+"${NO_TF[@]}"} tests
tail -1 "$R/pytest.log" >> "$R/summary.txt"
stage profile 60 $PY -m benchmarks.profile_iteration --size "$S" --backend cupy --iterations 3
grep "per iteration" "$R/profile.log" >> "$R/summary.txt"
last=${THREADS##* }
OPENBLAS_NUM_THREADS=$last OMP_NUM_THREADS=$last stage profile_cpu 60 $PY -m benchmarks.profile_iteration --size "$S" \
  --backend numpy --iterations 2

for size in $GRAPH_SIZES; do [[ $size != "${GRAPH_SIZES%% *}" ]] && graph_check "$size"; done

# 7. the later features, one run each on the device. A plan: PLAN_W wide (content and style), the whole graph
#    against a plan forced by a --memory-limit between the leanest plan's need and the whole graph's (the first
#    layers in strips), same iterations; a batch of
#    4 photos (the network and style targets made once); a video (skipped where PyAV and OpenCV are missing).
if [[ -n $QUICK ]]; then PLAN_W=256; PLAN_ITERS=2; DRY=(--dry-run); else PLAN_W=2048; PLAN_ITERS=10; DRY=(); fi
PLAN_LIMIT=$($PY -c "from vgg.style import plans; w=$PLAN_W; need=lambda p: plans.peak_bytes((w,w),[(w,w)],p,backend='cupy')
print(int((need(None) + min(map(need, plans.candidates(w))) / plans.PLAN_MARGIN) / 2))")
stage plan_whole 120 "${CLI[@]}" --width "$PLAN_W" --iterations "$PLAN_ITERS" --output "$R/cli/plan_whole.png"
stage plan_strips 150 "${CLI[@]}" --width "$PLAN_W" --iterations "$PLAN_ITERS" --output "$R/cli/plan_strips.png" \
  --memory-limit "$PLAN_LIMIT" ${DRY[@]+"${DRY[@]}"}
grep -h "strips" "$R/plan_strips.log" >> "$R/summary.txt" 2>/dev/null
mkdir -p "$R/album" "$R/album_out" && for k in 1 2 3 4; do cp "$R/cli/content.png" "$R/album/photo$k.png"; done
stage batch 120 "${CLI[@]}" --content "$R/album" --output "$R/album_out/{name}.png" --iterations "$PLAN_ITERS"
grep -hE "^stylize: [0-9]+ items" "$R/batch.log" >> "$R/summary.txt"
if $PY -c "import av, cv2" 2>/dev/null; then
  stage video_clip 60 $PY -c "from fractions import Fraction; from vgg.video import media, synthetic
media.write_video('$R/clip.mp4', synthetic.synthetic_clip(12, 96, 128), Fraction(12), None, False)"
  stage video 180 "${CLI[@]}" --content "$R/clip.mp4" --output "$R/clip_out.mp4" --frame-iterations "$PLAN_ITERS" \
    --first-frame-iterations "$PLAN_ITERS"
  grep -hE "^stylize: (frame: [0-9]+\/|video)" "$R/video.log" | tail -2 >> "$R/summary.txt"
else note "video: SKIPPED (PyAV or OpenCV not installed on this machine)"; fi

note "total $(elapsed) s; results in $R"
