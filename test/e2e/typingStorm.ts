// A typing storm: key events sent to the workbench faster than a person types (Playwright's
// keyboard.type waits for the browser after every key and reaches ~46 keys/s here). The keys go
// through the DevTools protocol's Input.dispatchKeyEvent, as keyboard.type's do, but on a fixed
// pace without waiting for the browser between keys; the browser still handles them one by one, in
// order, so the rate reported is the one the page really took them at.
import * as fs from 'node:fs';
import type { CDPSession } from 'playwright-core';

export interface StormOutcome {
  keys: number;
  seconds: number;
  /** Keys over the time from the first key sent to the last one handled by the page. */
  keysPerSecond: number;
  /** The most keys sent and not yet handled by the page at one time (the browser falling behind). */
  maxKeysInFlight: number;
}

const ENTER = { key: 'Enter', code: 'Enter', windowsVirtualKeyCode: 13 };

/**
 * One keystroke; resolves once the page has handled it. A printable character is the `char` key
 * event a key press delivers (keypress, then the input), without the keydown and keyup around it:
 * the editor has no binding for a plain character key, and the browser's renderer, the bottleneck
 * on two busy cores, spends ~3.5 ms per key instead of ~5 ms (measured). Enter is a whole press.
 */
async function pressKey(cdp: CDPSession, char: string): Promise<void> {
  if (char !== '\n') {
    await cdp.send('Input.dispatchKeyEvent', { type: 'char', text: char, unmodifiedText: char });
    return;
  }
  // Both are sent before either answer comes back: the browser keeps their order.
  await Promise.all([
    cdp.send('Input.dispatchKeyEvent', { type: 'keyDown', ...ENTER, text: '\r', unmodifiedText: '\r' }),
    cdp.send('Input.dispatchKeyEvent', { type: 'keyUp', ...ENTER }),
  ]);
}

/** Types `text` into the focused element at `keysPerSecond`, and returns once the page has handled every key. */
export async function typeStorm(cdp: CDPSession, text: string, keysPerSecond: number): Promise<StormOutcome> {
  const handled: Promise<void>[] = [];
  let done = 0;
  let maxKeysInFlight = 0;
  const start = performance.now();
  for (let sent = 0; sent < text.length; ) {
    // Keys due by now on the fixed pace: a late timer sends the keys it owes at once.
    const due = Math.min(text.length, Math.ceil(((performance.now() - start) / 1000) * keysPerSecond));
    for (; sent < due; sent++) handled.push(pressKey(cdp, text[sent]).then(() => void done++));
    maxKeysInFlight = Math.max(maxKeysInFlight, sent - done);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await Promise.all(handled);
  const seconds = (performance.now() - start) / 1000;
  return { keys: text.length, seconds, keysPerSecond: text.length / seconds, maxKeysInFlight };
}

/** A process's resident memory in MB (VmRSS), or undefined when it is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Math.round(Number(kb) / 102.4) / 10;
  } catch {
    return undefined;
  }
}

/** CPU time a process has used so far, in seconds (user + system), or undefined when it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // utime and stime are fields 14 and 15, counted after the command name's closing parenthesis; clock ticks of 1/100 s.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}
