import * as path from 'node:path';
import { openEngine } from './engineSetup';
import { readWorkspace, sampleWorkspaceCursors } from './benchSamples';
import { editorPrompt } from './benchRunner';
async function main() {
  const engine = await openEngine('model', 1, { inThread: true, quiet: true });
  const ws = '/tmp/ws-librust-log-dev';
  const files = readWorkspace(ws);
  const samples = sampleWorkspaceCursors(files, 60, 2).filter((s) => s.truth.startsWith(process.argv[2]));
  const s = samples[0];
  await engine.corpus.upsert(files.map((f) => ({ uri: f.path, path: f.path, text: f.path === s.file ? s.prefix + s.suffix : f.text })));
  const { prompt, mixture } = engine.plan(editorPrompt(engine, s, 48, path.basename(ws)), s.file, true);
  const tok = engine.model.tokenizer;
  console.log(s.id, JSON.stringify(s.prefix.slice(-80)), 'hidden', JSON.stringify(mixture!.hiddenText));
  const { result } = await engine.run({ prompt, maxTokens: 10, strategy: 'ar', mixture }, { isCancelled: () => false });
  const lead = mixture!.leadTokens;
  console.log('lead end', lead.slice(-6).map((t) => JSON.stringify(tok.decode([t]))).join(' '));
  for (let j = 0; j < result.tokens.length; j++) {
    const ctx = [...lead, ...result.tokens.slice(0, j)].slice(-256);
    const d = mixture!.distribution(ctx);
    console.log(j, JSON.stringify(tok.decode([result.tokens[j]])), d ? `n=${d.matchLength} ${d.source} c=${d.occurrences} λ=${d.lambda} ${d.tokens.slice(0, 5).map((t, i) => JSON.stringify(tok.decode([t])) + ':' + d.probabilities[i].toFixed(2)).join(' ')}` : '-');
  }
  await engine.close();
}
main();
