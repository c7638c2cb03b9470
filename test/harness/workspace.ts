// The sample workspace the real-editor tests and `npm start` open, copied first so that edits
// made in the editor never change the repository.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from './codeServer';

export const E2E_WORKSPACE = path.join(REPO_ROOT, 'test/fixtures/e2e-workspace');

export function copyWorkspace(source: string, destination: string): string {
  fs.cpSync(source, destination, { recursive: true });
  return destination;
}
