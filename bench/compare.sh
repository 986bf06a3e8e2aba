#!/usr/bin/env bash
# Bruno against LanceDB 0.31 on the same dataset folders, N alternating rounds (Bruno, LanceDB, Bruno, LanceDB, …),
# then the median of each measure per engine in one side-by-side table (docs/benchmarks.md, "Side by side with LanceDB").
#
#   bench/compare.sh --multi DIR --large DIR [--runs 3] [--only all|multi|cold|large] [--out DIR]
#
# Each run takes /tmp/bench.lock (flock) for itself, so it never overlaps another benchmark on this machine and others'
# runs can slot in between rounds. Writes DIR/bruno-R.json, DIR/lancedb-R.json and DIR/compare.json
# (default DIR: bench/results/compare-<UTC time>).
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3 only=all multi= large= out="bench/results/compare-$(date -u +%Y%m%dT%H%M%SZ)"
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --multi) multi=$(realpath "$2"); shift 2 ;;
    --large) large=$(realpath "$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "unknown option $1 (see the head of $0)" >&2; exit 2 ;;
  esac
done
case "$only" in
  all) parts=multi,cold,large ;;
  multi | cold | large) parts=$only ;;
  *) echo "--only takes all, multi, cold or large" >&2; exit 2 ;;
esac
if [[ "$parts" == *multi* && -z "$multi" ]] || [[ "$parts" != multi && -z "$large" ]]; then
  echo "--multi DIR and --large DIR name the datasets (bench/lancedb/gen.mjs writes them)" >&2
  exit 2
fi

mkdir -p "$out"
dotnet build bench/Bruno.Storage.Benchmarks -c Release -v quiet -nologo >/dev/null
[ -d bench/lancedb/node_modules ] || (cd bench/lancedb && npm ci --no-audit --no-fund)
dll=bench/Bruno.Storage.Benchmarks/bin/Release/net10.0/linux-x64/Bruno.Storage.Benchmarks.dll
datasets=()
[ -n "$multi" ] && datasets+=(--multi "$multi")
[ -n "$large" ] && datasets+=(--large "$large")

for r in $(seq 1 "$runs"); do
  echo "round $r of $runs: Bruno ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  flock /tmp/bench.lock dotnet "$dll" --only "$parts" "${datasets[@]}" --out "$out/bruno-$r.json" >"$out/bruno-$r.log" 2>&1
  echo "round $r of $runs: LanceDB ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  flock /tmp/bench.lock node bench/lancedb/run.mjs --only "$only" "${datasets[@]}" --out "$out/lancedb-$r.json" >"$out/lancedb-$r.log" 2>&1
done

results=() others=()
for r in $(seq 1 "$runs"); do
  results+=(--results "$out/bruno-$r.json")
  others+=(--compare "$out/lancedb-$r.json")
done
dotnet "$dll" "${results[@]}" "${others[@]}" --compare-out "$out/compare.json" | tee "$out/compare.md"
