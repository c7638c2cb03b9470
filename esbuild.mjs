// Bundles the three kinds of entry point separately: the extension host (imports
// `vscode`), the decoding process (plain Node, never `vscode`), and the CLI tools.
import * as esbuild from 'esbuild';

const watch = process.argv.includes('--watch');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: true,
  logLevel: 'warning',
  // Native addon: loaded from node_modules at run time (and shipped in the VSIX).
  external: ['vscode', 'onnxruntime-node'],
};

const entryPoints = {
  'host/extension': 'extension/host/extension.ts',
  'decoder/main': 'extension/decoder/main.ts',
  // The forward-pass worker thread the decoding process (and the CLI tools) start: WorkerModel.
  'decoder/forwardWorker': 'extension/decoder/model/forwardWorker.ts',
  'cli/demo': 'extension/cli/demo.ts',
  'cli/bench': 'extension/cli/bench.ts',
  'cli/profile': 'extension/cli/stepProfile.ts',
  'cli/fit-mixture': 'extension/cli/fitMixture.ts',
};

const existing = Object.fromEntries(
  await Promise.all(Object.entries(entryPoints).map(async ([out, src]) => {
    const fs = await import('node:fs');
    return fs.existsSync(src) ? [out, src] : null;
  })).then((pairs) => pairs.filter(Boolean)),
);

const ctx = await esbuild.context({ ...common, entryPoints: existing, outdir: 'dist' });
if (watch) {
  await ctx.watch();
} else {
  await ctx.rebuild();
  await ctx.dispose();
}
