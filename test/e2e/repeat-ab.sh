#!/usr/bin/env bash
# `bash test/e2e/repeat-ab.sh [N]`: runs the browser end-to-end suite N times in a row (default 5) on one
# packaged VSIX and prints, per run, the editor A/B's speed-up over completions of 8+ tokens next to the
# figure the status bar showed (test-results/e2e/ab.json); fails when any run's figure is more than 20% off.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-5}
bash test/harness/install.sh
export MSN_E2E_VSIX="${MSN_E2E_VSIX:-$PWD/msn-complete-linux-x64.vsix}"
VSIX_OUT="$MSN_E2E_VSIX" npm run --silent package
# Outside test-results/e2e, which each run of the suite clears.
out=test-results/ab-runs.jsonl
mkdir -p test-results
: > "$out"
for i in $(seq 1 "$runs"); do
  echo "=== e2e run $i of $runs"
  rm -f test-results/e2e/ab.json  # a run that fails before its A/B writes none: no stale figures
  npx --no-install mocha --config test/e2e/mocharc.json || echo "run $i: the suite failed (its A/B figures are still read if written)"
  node -e '
    const fs = require("fs");
    if (!fs.existsSync("test-results/e2e/ab.json")) { console.log(JSON.stringify({ run: Number(process.argv[1]), ab: 0, statusBar: 0, off: null })); process.exit(0); }
    const ab = JSON.parse(fs.readFileSync("test-results/e2e/ab.json", "utf8"));
    console.log(JSON.stringify({ run: Number(process.argv[1]), ab: ab.speedupOver8PlusTokens, statusBar: ab.statusBarSpeedup, off: ab.statusBarVsAbOver8PlusTokens }));
  ' "$i" | tee -a "$out"
done
node -e '
  const runs = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => JSON.parse(l));
  for (const r of runs) console.log(r.off === null ? `run ${r.run}: no A/B figures` : `run ${r.run}: editor A/B ${r.ab.toFixed(2)}x, status bar ${r.statusBar.toFixed(1)}x (${(100 * r.off).toFixed(0)}%)`);
  const bad = runs.filter((r) => r.off === null || !(Math.abs(r.off) <= 0.2));
  if (bad.length > 0) { console.log(`${bad.length} of ${runs.length} runs off by more than 20%`); process.exit(1); }
  console.log(`all ${runs.length} runs within 20%`);
' "$out"
