#!/usr/bin/env bash
# Footprint of the embedded default (docs/benchmarks.md, "Footprint"): starts `bruno serve` (Release) on a fresh data
# folder, reads its resident memory once it is ready and idle, ingests the repository's docs/ folder through the CLI into
# one tenant, and reads it again: 2 s after the ingest, and 15 s after (once the batch session was released). Prints JSON and writes it to bench/results/footprint.json (or the file given).
#   bench/footprint.sh [OUT.json]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/results/footprint.json}
mkdir -p "$(dirname "$out")"
dotnet build -c Release src/Bruno.Cli -nologo -v q >/dev/null
bruno=src/Bruno.Cli/bin/Release/net10.0/linux-x64/bruno
root=$(mktemp -d)
port=$((20000 + RANDOM % 20000))
url=http://127.0.0.1:$port
"$bruno" serve --data "$root/data" --urls "$url" >"$root/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$root"' EXIT
for _ in $(seq 1 120); do
  curl -sf "$url/readyz" >/dev/null && break
  sleep 0.5
done
curl -sf "$url/readyz" >/dev/null || { echo "the server did not become ready" >&2; exit 1; }
sleep 3
kb() { awk -v k="$1:" '$1 == k {print $2}' "/proc/$pid/status"; }
idle_rss=$(kb VmRSS); idle_anon=$(kb RssAnon); idle_file=$(kb RssFile)
"$bruno" tenant create footprint --data "$root/data" --server "$url" >/dev/null
start=$(date +%s%N)
"$bruno" ingest docs --tenant footprint --data "$root/data" --server "$url" >"$root/ingest.log"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
sleep 2
after_rss=$(kb VmRSS); after_anon=$(kb RssAnon); peak=$(kb VmHWM)
# the batch session is released 10 s after the last batch (MiniLmEmbeddingGenerator.BatchIdle): read again after that
sleep 13
settled_rss=$(kb VmRSS); settled_anon=$(kb RssAnon)
chunks=$(grep -Eo '[0-9]+ chunks' "$root/ingest.log" | grep -Eo '[0-9]+' | tail -1)
json=$(cat <<EOF
{"date":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","cores":$(nproc),"idle_rss_mb":$((idle_rss / 1024)),"idle_anon_mb":$((idle_anon / 1024)),"idle_file_mb":$((idle_file / 1024)),"after_ingest_rss_mb":$((after_rss / 1024)),"after_ingest_anon_mb":$((after_anon / 1024)),"settled_rss_mb":$((settled_rss / 1024)),"settled_anon_mb":$((settled_anon / 1024)),"peak_rss_mb":$((peak / 1024)),"docs_chunks":${chunks:-0},"ingest_ms":$elapsed_ms,"targets":{"idle_rss_mb":300,"after_ingest_rss_mb":600}}
EOF
)
echo "$json" | tee "$out"
