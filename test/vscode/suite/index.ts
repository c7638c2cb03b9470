// Entry point VS Code loads as `extensionTestsPath`: runs every compiled *.test.js next to it
// with mocha inside the extension host, and writes the outcome to $MSN_VSCODE_TEST_REPORT so the
// runner outside the editor can print it (the extension host's console is not the terminal's).
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';

interface TestOutcome {
  title: string;
  state: 'passed' | 'failed';
  durationMs: number;
  error?: string;
}

export async function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 180_000, reporter: 'spec' });
  // The multi-root session (test/vscode/sessions.ts) runs multiRoot*.test.js; the single-folder one the rest.
  const multiRoot = process.env.MSN_VSCODE_SESSION === 'multi-root';
  const files = fs.readdirSync(__dirname).filter((f) => f.endsWith('.test.js') && f.startsWith('multiRoot') === multiRoot);
  for (const file of files.sort()) {
    mocha.addFile(path.join(__dirname, file));
  }
  const outcomes: TestOutcome[] = [];
  const failures = await new Promise<number>((resolve) => {
    const runner = mocha.run(resolve);
    runner.on('pass', (test) => outcomes.push({ title: test.fullTitle(), state: 'passed', durationMs: test.duration ?? 0 }));
    runner.on('fail', (test, error: Error) => outcomes.push({
      title: test.fullTitle(),
      state: 'failed',
      durationMs: test.duration ?? 0,
      error: error.stack ?? String(error),
    }));
  });
  if (outcomes.length === 0) throw new Error(`no extension-host tests ran from ${__dirname}`);
  const reportFile = process.env.MSN_VSCODE_TEST_REPORT;
  if (reportFile) fs.writeFileSync(reportFile, JSON.stringify({ outcomes, failures }, null, 2));
  if (failures > 0) throw new Error(`${failures} extension-host test(s) failed`);
}
