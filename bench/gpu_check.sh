#!/usr/bin/env bash
# The whole GPU measurement in one run (<= 8 minutes), from the repository root of the GPU
# machine; every step has its own timeout, so a slow step cannot eat the rest, and writes its
# results under $OUT (at most eight files come back from the device machine):
#   gpu.txt          nvidia-smi -L, torch/ray/optuna versions
#   packed.json      bench.packed: a pack of 1 and 64 default-space models, 1 and 4 calls and
#                    the calls pack_groups auto picks, TF32, eager and CUDA-graph replay
#   r64.json         bench.throughput, reference study R64 (64 trials), plain recipe capped
#   tests.txt        the GPU tests (pytest -m gpu), one timeout per file, with durations
#   r256.json        bench.throughput, R256 (256 trials, 64 at once), jetstudy only, stopped
#                    by search.time_budget_s at what is left of the budget
#   log              everything printed
# Before the device call, here: `bash ../shared/tools/device-wheels.sh` fills .whl/ (carry it).
#   SMALL=1 OUT=/tmp/gpu-smoke bash bench/gpu_check.sh     # CPU smoke test: small sizes
#   BUDGET=480 bash bench/gpu_check.sh                     # seconds for all steps (default)
#   STEPS="r256" BUDGET=480 bash bench/gpu_check.sh        # some steps: packed r64 tests r256
# Measured on an H200 (2026-11-27): bench.packed ~45 s (groups 1 4; auto adds two 64-model
# epochs), R64 with the plain recipe > 230 s (the jetstudy part alone > 150 s), the GPU tests
# ~130 s (+~25 s since the GPU study test also runs the defaults, packed): R256 needs a call
# of its own.
set -u
export PYTHONUNBUFFERED=1 OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
exec > >(tee "$OUT/log") 2>&1
start=$(date +%s)
left() { echo $(( ${BUDGET:-480} - ($(date +%s) - start) )); }
cap() { local l; l=$(left); echo $(( $1 < l ? $1 : (l > 10 ? l : 10) )); }  # min(want, left)
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1 && [ -z "${SMALL:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
fi
PY=${PY:-python3}
# jetstudy not installed there (the GPU machine): the checkout's folders as the jetstudy namespace
if ! $PY -c "import jetstudy.study" 2>/dev/null; then
  mkdir -p /tmp/ns/jetstudy
  for d in study trainables analysis configs; do ln -sfn "$PWD/$d" "/tmp/ns/jetstudy/$d"; done
  export PYTHONPATH=/tmp/ns:$PYTHONPATH
fi
STEPS=${STEPS:-packed r64 tests r256}
step() { case " $STEPS " in *" $1 "*) return 0 ;; *) echo "== $1 not in STEPS"; return 1 ;; esac; }
# after a throughput step: its set-up split into the log (issue 10: setup <= 10 s on R64;
# setup_parts is run_study's own: load, Ray start beside the split, packs launched, tuner)
setup_of() { [ -s "$1" ] && $PY -c 'import json, sys
r = json.load(open(sys.argv[1]))
for name in ("plain", "jetstudy"):
    run = r.get(name) or {}
    if run:
        parts = run.get("setup_parts") or {k: run.get(k) for k in ("data_s", "ray_init_s")}
        setup, first = run.get("setup_s"), run.get("first_result_s")
        print(f"setup {name}: setup_s {setup} first_result_s {first} parts {parts}")' "$1"; }
# after a step: Ray left behind by a killed step (GPU machine only: here others' Ray may run)
tidy() { [ -n "${SMALL:-}" ] || $PY -m ray.scripts.scripts stop --force >/dev/null 2>&1; }
{ nvidia-smi -L 2>/dev/null || echo "no nvidia-smi"; date -u +%FT%TZ
  $PY -c "import torch, ray, optuna; print('torch', torch.__version__, 'ray', ray.__version__,
'optuna', optuna.__version__, 'cuda', torch.cuda.is_available())"; } | tee "$OUT/gpu.txt"

if [ -n "${SMALL:-}" ]; then   # CPU smoke sizes: every step runs, each in seconds
  P="--models 1 4 --jets 20000 --epochs 1 --groups 1 2 auto --graphs"
  R64="--jets 4000 --trials 3 --epochs 2 --concurrent 2 --pack-size 2 --plain-budget-s 30"
  R256="--jets 4000 --trials 6 --epochs 2 --pack-size 2 --skip-plain"
  TESTS="tests/trainables/test_device.py"
else
  P="--models 1 64 --epochs 1 --groups 1 4 auto --sequential-cap 1 --tf32 --graphs"
  R64="--plain-budget-s 50"
  R256="--trials 256 --skip-plain"
  TESTS="tests/trainables/test_packed.py tests/study/test_gpu_study.py tests/bench/test_bench.py"
fi

if step packed; then
echo "== packed micro-benchmark (left $(left) s)"
timeout "$(cap 90)" $PY -m bench.packed $P --out "$OUT/packed.json" >/dev/null \
  || echo "bench.packed: exit $?"
fi

if step r64; then
echo "== throughput R64: plain recipe (capped) against jetstudy packed (left $(left) s)"
timeout "$(cap 300)" $PY -m bench.throughput $R64 --out "$OUT/r64.json" >/dev/null \
  || { echo "bench.throughput R64: exit $?"; tidy; }
setup_of "$OUT/r64.json"
fi

if step tests; then
echo "== GPU tests (left $(left) s)"
: > "$OUT/tests.txt"
for f in $TESTS; do
  case $f in *test_bench.py) want=150 ;; *test_gpu_study.py) want=90 ;; *) want=40 ;; esac
  echo "-- $f (timeout $(cap $want) s)" | tee -a "$OUT/tests.txt"
  # SIGINT at the timeout: pytest still prints what passed and failed so far
  timeout -s INT -k 15 "$(cap $want)" $PY -m pytest -v -m gpu "$f" -p no:cacheprovider \
    --durations=5 2>&1 | tail -n 30 | tee -a "$OUT/tests.txt"
  echo "exit ${PIPESTATUS[0]}" | tee -a "$OUT/tests.txt"
  tidy
done
fi

# R256 gets what is left: its study stops at search.time_budget_s (its rate is what it
# trained by then); setup (jets, Ray, packs) and finish (tables, test evaluation) come on top
budget=$(( $(left) - 60 ))
if ! step r256; then :
elif [ "$budget" -ge 30 ]; then
  echo "== throughput R256, jetstudy only, time budget $budget s (left $(left) s)"
  timeout "$(cap $(( budget + 55 )))" $PY -m bench.throughput $R256 --time-budget-s "$budget" \
    --out "$OUT/r256.json" >/dev/null || { echo "bench.throughput R256: exit $?"; tidy; }
  setup_of "$OUT/r256.json"
else
  echo "== R256 skipped: $(left) s left"
fi
echo "== done after $(( $(date +%s) - start )) s"
