#!/usr/bin/env bash
# `make study`: run the CPU study in the background, from its own clone pinned to this clone's HEAD,
# so that later work here cannot change the code under a running study. Everything that must
# survive a session lives in the cache (~/.cache/crossprobe/study): the clone, the corpus and the
# study's outputs (checkpoints, maps). Run it again to resume after any stop; a new machine
# restarts only the model that was unfinished.
#   make study                  start or resume in the background (a running study is left alone)
#   make study STUDY_FG=1       the same in the foreground
#   make study-stop             stop it (training resumes from its last checkpoint next time)
#   STUDY_COMMIT=<rev>          pin another commit (default: HEAD)
#   STUDY_ARGS=--redo-explain   explain the trained models anew (python -m study --help)
#   STUDY_THREADS=2             torch threads (default 1; 2 only on an otherwise idle machine)
#   STUDY_RUNNERS=2             runners sharing the models (default 1): each takes the next model no other
#                               runner holds, so one trains on a core while another explains on the other
#   STUDY_HOME=whisper-study STUDY_TARGET=whisper-study-run STUDY_PREP=setup
#                               another study (make whisper-study): its cache folder, its make target and what
#                               that target needs first
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
cache=${CROSSPROBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crossprobe}
home="$cache/${STUDY_HOME:-study}"
target=${STUDY_TARGET:-study-run}
again=make\ ${target%-run}  # what starts it again: make study, make whisper-study
prep=${STUDY_PREP:-setup corpus}
src="$home/src"
pidfile="$home/study.pid"
log="$home/study.log"
mkdir -p "$home/outputs" "$home/data"

# The pid file holds one runner's process group per line.
running() { [ -f "$pidfile" ] && while read -r group; do kill -0 "$group" 2>/dev/null && return 0; done <"$pidfile"; return 1; }

if [ "${1:-}" = stop ]; then
  if ! running; then echo "study: not running"; exit 0; fi
  groups=$(cat "$pidfile")
  for group in $groups; do kill -- "-$group" 2>/dev/null || true; done
  for _ in $(seq 60); do running || break; sleep 1; done  # the runners record the time spent, then exit
  # evaluate.py's worker processes handle SIGTERM themselves and outlive the runner: left alone, they go on
  # writing into a run that the next `make study` resumes beside them
  for group in $groups; do kill -9 -- "-$group" 2>/dev/null || true; done
  echo "study: stopped (resume with $again)"
  exit 0
fi
if running; then
  echo "study: already running (pids $(paste -sd ' ' "$pidfile"), clone at $(git -C "$src" rev-parse --short HEAD)); follow it with: tail -f $log"
  exit 0
fi

commit=$(git rev-parse "${STUDY_COMMIT:-HEAD}")
git diff --quiet HEAD -- || echo "study: note: uncommitted changes here are not part of the study (it runs $(git rev-parse --short "$commit"))"
if [ ! -d "$src/.git" ]; then
  git clone -q --no-checkout "$repo" "$src"
fi
git -C "$src" fetch -q "$repo" "$commit"
git -C "$src" checkout -q --force "$commit"
ln -sfn "$home/outputs" "$src/outputs"
ln -sfn "$home/data" "$src/data"
echo "study: clone $src pinned to $(git -C "$src" rev-parse --short HEAD); outputs in $home/outputs"

# One thread: on this 2-core machine anything else running beside a 2-thread training made its steps
# 5-10x slower (measured: 0.11 steps/s against about 1.4 alone); one thread leaves a core for other work.
export OMP_NUM_THREADS=${STUDY_THREADS:-1} MKL_NUM_THREADS=${STUDY_THREADS:-1}
if [ -n "${STUDY_FG:-}" ]; then
  exec nice -n 10 make -C "$src" "$target"
fi
: >"$pidfile"
for runner in $(seq "${STUDY_RUNNERS:-1}"); do
  out=$log
  [ "$runner" = 1 ] || out="${log%.log}.$runner.log"
  # setsid -f: the runner leads its own process group, whose id is its pid, which `make study-stop` ends; the
  # setup (venv, corpus) is made by one runner at a time, so a new machine builds it once
  setsid -f nice -n 10 sh -c 'echo $$ >>"$1"; flock "$2" make -C "$3" $4 && exec make -C "$3" "$5"' \
    sh "$pidfile" "$home/setup.lock" "$src" "$prep" "$target" >>"$out" 2>&1 </dev/null
  echo "study: runner $runner running in the background; follow it with: tail -f $out"
done
[ "$target" != study-run ] || echo "study: when it has finished: make study-results (copies the light results into results/study/)"
