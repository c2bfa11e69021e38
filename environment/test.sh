#!/usr/bin/env bash
# The README's test command: set up, then run every test. Ends with one line `N passed, N failed`
# taken from the test results (that line is how CI reads a run).
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash environment/setup.sh || exit 1
# Datasets are fetched once into the cache ($WORKBENCH_DATA, default data/cache) before the tests.
./workbench data fetch all || exit 1
# The Slurm integration test (tests/Workbench.Tests/Sweeps/SlurmSweepTests.cs) submits to a single-node cluster on this
# machine: start it (installs slurm-wlm and munge with apt when missing) and stop it afterwards if we started it. Where
# Slurm cannot be had (no apt, not root) the test prints that it is skipped and why.
slurm_started=0
if ! bash environment/slurm-local.sh running 2>/dev/null; then
  if bash environment/slurm-local.sh start; then slurm_started=1; else echo "test: no local Slurm cluster (exit $?); the Slurm sweep test will say it is skipped" >&2; fi
fi
trap '[ "$slurm_started" = 1 ] && bash environment/slurm-local.sh stop >/dev/null 2>&1' EXIT



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
