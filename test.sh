#!/usr/bin/env bash
# Builds everything with warnings as errors, checks formatting, starts a private PostgreSQL server, runs every test
# project, and ends with one line: "N passed, N failed". CI (.ci/run) calls exactly this script.
set -uo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

log=$(mktemp)
status=0
dotnet build Bruno.slnx -warnaserror -nologo -v q || status=$?
if [ "$status" -ne 0 ]; then
  echo "build failed"
  echo "0 passed, 1 failed"
  exit 1
fi
if ! dotnet format Bruno.slnx --verify-no-changes --no-restore -v q; then
  echo "dotnet format found unformatted code (run ./format.sh)"
  echo "0 passed, 1 failed"
  exit 1
fi

# Third-party tools the contract tests drive (tests/contract: the official OpenAI SDK, the Redocly CLI, openapi-typescript
# and openapi-fetch with tsc, the official MCP TypeScript SDK, the MCP Inspector CLI): Node.js from Debian when it is
# missing and this runs as root, then the locked packages.
if ! command -v npm >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm) >/dev/null 2>&1 || true
fi
if ! npm ci --prefix tests/contract --no-audit --no-fund --loglevel=error >/dev/null; then
  echo "could not install the contract test clients (Node.js and npm are needed: sudo apt-get install nodejs npm)"
  echo "0 passed, 1 failed"
  exit 1
fi

# Debian's Chromium for the web console's browser tests (Playwright drives it through ExecutablePath: its own browser
# download is not reachable), installed when missing and this runs as root.
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 || true
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "Chromium is needed for the console tests: sudo apt-get install chromium"
  echo "0 passed, 1 failed"
  exit 1
fi

# iproute2 (ip, tc) for the partition test, which makes a network namespace of its own and cuts it off (needs root).
if { ! command -v ip >/dev/null 2>&1 || ! command -v tc >/dev/null 2>&1; } && [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2) >/dev/null 2>&1 || true
fi
if ! command -v tc >/dev/null 2>&1 || [ "$(id -u)" -ne 0 ]; then
  echo "the partition test needs root and iproute2 (ip, tc): sudo apt-get install iproute2, and run as root"
  echo "0 passed, 1 failed"
  exit 1
fi

# A private PostgreSQL server for the catalog tests (the same tests run on SQLite and PostgreSQL).
if ! BRUNO_TEST_POSTGRES=$(scripts/postgres.sh start); then
  echo "could not start PostgreSQL for the tests"
  echo "0 passed, 1 failed"
  exit 1
fi
export BRUNO_TEST_POSTGRES
trap 'scripts/postgres.sh stop' EXIT

dotnet test Bruno.slnx --no-build --blame-hang-timeout 10m -- RunConfiguration.CollectSourceInformation=false 2>&1 | tee "$log"
test_status=${PIPESTATUS[0]}

passed=$(grep -Eo 'Passed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
failed=$(grep -Eo 'Failed: +[0-9]+' "$log" | awk '{s+=$2} END {print s+0}')
rm -f "$log"
if [ "$test_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
  echo "no test ran"
  failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
