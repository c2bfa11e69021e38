#!/usr/bin/env bash
# The README's test command: set up, then run every test. Ends with one line `N passed, N failed`
# taken from the test results (that line is how CI reads a run).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash environment/setup.sh || exit 1
# Datasets are fetched once into the cache ($WORKBENCH_DATA, default data/cache) before the tests.
./workbench data fetch all || exit 1



results="$root/artifacts/test-results"
rm -rf "$results"
dotnet test Workbench.sln -c Release --no-build -nologo \
  --logger "trx;LogFilePrefix=results" --logger "console;verbosity=normal" --results-directory "$results" "$@"
status=$?
passed=0; failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # the run itself broke (build, crash)
echo "$passed passed, $failed failed"
exit "$status"
