import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { CrashPolicy } from '../../extension/host/logic/crashPolicy';
import { DecoderError } from '../../extension/host/logic/decoderClient';
import { DecoderSupervisor, type SupervisorState } from '../../extension/host/logic/decoderSupervisor';

const SCRIPT = path.join(__dirname, 'fixtures', 'scriptedDecoder.mjs');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function waitFor(supervisor: DecoderSupervisor, states: SupervisorState[], kind: SupervisorState['kind'], timeoutMs = 10_000): Promise<SupervisorState> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      const found = states.find((state) => state.kind === kind);
      if (found) return resolve(found);
      if (Date.now() - started > timeoutMs) return reject(new Error(`no ${kind} state; saw ${states.map((s) => s.kind).join(',')}`));
      setTimeout(poll, 10);
    };
    poll();
  });
}

function makeSupervisor(env: Record<string, string>, policy = new CrashPolicy({ maxCrashes: 3, windowMs: 60_000, baseDelayMs: 20, maxDelayMs: 100 })) {
  const states: SupervisorState[] = [];
  const logs: string[] = [];
  const supervisor = new DecoderSupervisor({
    launch: () => ({ command: process.execPath, args: [SCRIPT], env: { ...process.env, ELECTRON_RUN_AS_NODE: '1', ...env } }),
    loadParams: () => ({ modelDir: '/models/m' }),
    policy,
    shutdownGraceMs: 300,
    onState: (state) => states.push(state),
    onLog: (line) => logs.push(line),
  });
  return { supervisor, states, logs };
}

describe('DecoderSupervisor (real child processes)', function () {
  this.timeout(20_000);
  const started: DecoderSupervisor[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((supervisor) => supervisor.stop()));
  });

  it('spawns, loads the model, serves requests, streams chunks and stops cleanly', async () => {
    const { supervisor, states, logs } = makeSupervisor({});
    started.push(supervisor);
    supervisor.start();
    assert.equal(await supervisor.whenReady(10_000), true);
    const ready = await waitFor(supervisor, states, 'ready');
    assert.equal(ready.kind === 'ready' && ready.model.modelDir, '/models/m');
    const completion = await supervisor.request('complete', { prefix: 'hello', suffix: '', mode: 'line', maxTokens: 5 }).result;
    assert.equal(completion.text, '<llo>');
    const chunks: string[] = [];
    const generated = await supervisor.request('generate', { prefix: '', maxTokens: 5 }, { onChunk: (text) => chunks.push(text) }).result;
    assert.equal(chunks.join(''), generated.text);
    const pid = supervisor.pid!;
    await supervisor.stop();
    assert.equal(isAlive(pid), false);
    assert.equal(supervisor.state.kind, 'stopped');
    assert.ok(logs.some((line) => line.includes('scripted decoder')), 'stderr lines reach the log');
  });

  it('cancels an in-flight completion', async () => {
    const { supervisor } = makeSupervisor({ SCRIPTED_COMPLETE_MS: '5000' });
    started.push(supervisor);
    supervisor.start();
    await supervisor.whenReady(10_000);
    const handle = supervisor.request('complete', { prefix: 'abc', suffix: '', mode: 'line', maxTokens: 5 });
    setTimeout(() => handle.cancel(), 30);
    const startedAt = Date.now();
    await assert.rejects(handle.result, (error: DecoderError) => error.code === 'cancelled');
    assert.ok(Date.now() - startedAt < 2000);
  });

  it('a crash rejects open requests, then restarts with backoff', async () => {
    const { supervisor, states } = makeSupervisor({ SCRIPTED_CRASH_ON: 'generate' });
    started.push(supervisor);
    supervisor.start();
    await supervisor.whenReady(10_000);
    const firstPid = supervisor.pid!;
    const pending = supervisor.request('complete', { prefix: 'abc', suffix: '', mode: 'line', maxTokens: 5 }, {});
    const crashing = supervisor.request('generate', { prefix: '', maxTokens: 5 });
    await assert.rejects(crashing.result, (error: DecoderError) => error.code === 'exited');
    // The completion may have been answered before the crash or failed by it; it must settle.
    await pending.result.catch((error: DecoderError) => assert.equal(error.code, 'exited'));
    const restarting = await waitFor(supervisor, states, 'restarting');
    assert.ok(restarting.kind === 'restarting' && /boom: simulated failure/.test(restarting.reason));
    assert.equal(await supervisor.whenReady(10_000), true);
    assert.notEqual(supervisor.pid, firstPid);
    assert.equal(isAlive(firstPid), false);
  });

  it('gives up after repeated crashes with the stderr reason, and a manual restart recovers', async () => {
    const { supervisor, states } = makeSupervisor({ SCRIPTED_CRASH_ON: 'load' });
    started.push(supervisor);
    supervisor.start();
    const failed = await waitFor(supervisor, states, 'failed');
    assert.ok(failed.kind === 'failed' && /3 crashes/.test(failed.reason) && /boom: simulated failure in load/.test(failed.reason));
    assert.equal(states.filter((state) => state.kind === 'restarting').length, 2);
    assert.equal(await supervisor.whenReady(100), false);
    await assert.rejects(supervisor.request('stats', {}).result, (error: DecoderError) => error.code === 'not-running');
  });

  it('a model that does not load is reported once, without a restart loop', async () => {
    const { supervisor, states } = makeSupervisor({ SCRIPTED_LOAD_ERROR: '1' });
    started.push(supervisor);
    supervisor.start();
    const failed = await waitFor(supervisor, states, 'failed');
    assert.ok(failed.kind === 'failed' && /missing \/models\/m\/model.onnx/.test(failed.reason));
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(states.filter((state) => state.kind === 'starting').length, 1);
  });

  it('kills a process that ignores shutdown after the grace period', async () => {
    const { supervisor } = makeSupervisor({ SCRIPTED_IGNORE_SHUTDOWN: '1' });
    started.push(supervisor);
    supervisor.start();
    await supervisor.whenReady(10_000);
    const pid = supervisor.pid!;
    const startedAt = Date.now();
    await supervisor.stop();
    assert.ok(Date.now() - startedAt >= 250, 'waited for the grace period');
    assert.equal(isAlive(pid), false);
  });

  it('two restarts at once leave exactly one process', async () => {
    const { supervisor, states } = makeSupervisor({});
    started.push(supervisor);
    supervisor.start();
    await supervisor.whenReady(10_000);
    const first = supervisor.pid!;
    await Promise.all([supervisor.restart(), supervisor.restart()]);
    assert.equal(await supervisor.whenReady(10_000), true);
    assert.equal(states.filter((state) => state.kind === 'starting').length, 2, 'one initial start and one restart');
    assert.equal(isAlive(first), false);
  });

  it('restart() replaces a healthy process', async () => {
    const { supervisor } = makeSupervisor({});
    started.push(supervisor);
    supervisor.start();
    await supervisor.whenReady(10_000);
    const pid = supervisor.pid!;
    await supervisor.restart();
    assert.equal(await supervisor.whenReady(10_000), true);
    assert.notEqual(supervisor.pid, pid);
  });
});
