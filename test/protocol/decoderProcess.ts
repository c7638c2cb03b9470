// Test helper: the built decoding process (dist/decoder/main.js) as a child process,
// driven over its real stdin/stdout.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as path from 'node:path';
import type { DecoderMessage, Method } from '../../extension/protocol';

export const REPO_ROOT = path.resolve(__dirname, '../..');
export const DECODER_MAIN = path.join(REPO_ROOT, 'dist/decoder/main.js');

export interface Reply {
  response: { id: number | null; result?: any; error?: { code: string; message: string } };
  chunks: string[];
}

export class DecoderProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** Every stdout line, parsed (the test fails elsewhere if one is not JSON). */
  readonly messages: DecoderMessage[] = [];
  readonly badLines: string[] = [];
  stderr = '';
  private buffer = '';
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; chunks: string[] }>();
  private readonly anonymous: Array<(r: Reply['response']) => void> = [];
  readonly exited: Promise<number | null>;

  constructor(cacheDir: string) {
    this.child = spawn(process.execPath, [DECODER_MAIN, '--cache-dir', cacheDir], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stderr.setEncoding('utf8');
    this.child.stdout.on('data', (data: string) => this.onData(data));
    this.child.stderr.on('data', (data: string) => { this.stderr += data; });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
  }

  request(method: Method | string, params?: unknown): { id: number; reply: Promise<Reply> } {
    const id = this.nextId++;
    const reply = new Promise<Reply>((resolve) => this.waiting.set(id, { resolve, chunks: [] }));
    this.send(JSON.stringify({ id, method, params }));
    return { id, reply };
  }

  call(method: Method | string, params?: unknown): Promise<Reply> {
    return this.request(method, params).reply;
  }

  /** Sends a raw line and waits for the next response without a usable id. */
  sendRawExpectingAnonymous(line: string): Promise<Reply['response']> {
    const next = new Promise<Reply['response']>((resolve) => this.anonymous.push(resolve));
    this.send(line);
    return next;
  }

  /** Sends raw bytes (they should end with a newline) and waits for the next response without a usable id. */
  sendBytesExpectingAnonymous(bytes: Buffer): Promise<Reply['response']> {
    const next = new Promise<Reply['response']>((resolve) => this.anonymous.push(resolve));
    this.child.stdin.write(bytes);
    return next;
  }

  send(line: string): void {
    this.child.stdin.write(line + '\n');
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  private onData(data: string): void {
    this.buffer += data;
    let newline = this.buffer.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      newline = this.buffer.indexOf('\n');
      let message: any;
      try {
        message = JSON.parse(line);
      } catch {
        this.badLines.push(line);
        continue;
      }
      this.messages.push(message);
      if (message.event === 'chunk') {
        this.waiting.get(message.id)?.chunks.push(message.data.text);
      } else if (message.event === undefined) {
        const entry = typeof message.id === 'number' ? this.waiting.get(message.id) : undefined;
        if (entry) {
          this.waiting.delete(message.id);
          entry.resolve({ response: message, chunks: entry.chunks });
        } else {
          this.anonymous.shift()?.(message);
        }
      }
    }
  }
}
