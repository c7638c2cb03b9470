// Entry point of the decoding process: NDJSON requests on stdin, responses and events
// on stdout, logs on stderr. Usage: node dist/decoder/main.js [--cache-dir DIR]
import * as path from 'node:path';
import { MAX_MESSAGE_CHARS } from '../limits';
import { encodeMessage, LineSplitter, type DecoderMessage } from '../protocol';
import { DecoderEngine } from './engine/decoderEngine';
import { createStrategySet } from './engine/strategySet';
import { WorkerModel } from './model/workerModel';
import { DecoderServer } from './server';

function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

function log(message: string): void {
  process.stderr.write(`[msn-decoder] ${message}\n`);
}

// stdout carries protocol messages only: anything printed by accident goes to stderr.
console.log = (...args: unknown[]) => log(args.map(String).join(' '));
console.info = console.log;
console.warn = console.log;

function send(message: DecoderMessage): void {
  process.stdout.write(encodeMessage(message));
}

let exiting = false;
function exit(code: number): void {
  if (exiting) return;
  exiting = true;
  // Exit once everything written so far has been flushed.
  process.stdout.write('', () => process.exit(code));
}

// Forward passes run in a worker thread, so this thread reads requests (a cancel) during a pass.
// If the worker dies, the KV cache it held goes with it: the process exits and the host, which
// fails the open requests on exit, restarts it. The request whose pass failed is answered first.
const openSession = WorkerModel.opener({
  script: path.join(__dirname, 'forwardWorker.js'),
  onCrash: (error) => {
    log(`${error.message}; exiting`);
    setImmediate(() => exit(1));
  },
});

const engine = new DecoderEngine({
  strategies: createStrategySet,
  openSession,
  cacheDir: argValue('--cache-dir') ?? process.env.MSN_COMPLETE_CACHE_DIR,
  onProgress: (data) => send({ event: 'progress', data }),
  log,
});
const server = new DecoderServer(engine, { send, log, exit });

// The host closed our stdout (it exited or crashed): nobody is left to answer.
process.stdout.on('error', () => process.exit(0));
process.on('uncaughtException', (error) => log(`uncaught: ${error.stack ?? error.message}`));
process.on('unhandledRejection', (reason) => log(`unhandled rejection: ${reason instanceof Error ? reason.stack : String(reason)}`));

const splitter = new LineSplitter((line) => {
  try {
    server.handleLine(line);
  } catch (error) {
    log(`failed to handle a line: ${(error as Error).stack}`);
    send({ id: null, error: { code: 'internal', message: (error as Error).message } });
  }
}, MAX_MESSAGE_CHARS, (chars) => {
  send({ id: null, error: { code: 'parse-error', message: `a request line of ${chars} characters exceeds the limit of ${MAX_MESSAGE_CHARS}; it was dropped` } });
});
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => splitter.push(chunk));
process.stdin.on('end', () => exit(0));

log(`decoder ready (pid ${process.pid})`);
