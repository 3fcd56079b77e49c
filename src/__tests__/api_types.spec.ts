// src/api_types.ts is generated from jupyter_cloudlab/openapi.yaml, itself generated from the
// server's pydantic models (tests/test_openapi.py checks that step): a stale file fails here.
import { spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'scripts', 'api-types.mjs');

function check(file?: string): { status: number | null; stderr: string } {
  const args = [SCRIPT, '--check', ...(file ? [file] : [])];
  const run = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: 'utf8'
  });
  return { status: run.status, stderr: run.stderr };
}

describe('api_types.ts', () => {
  it('is what openapi-typescript makes of openapi.yaml now', () => {
    // Given the committed file; When it is checked against the document
    const { status, stderr } = check();
    // Then it is current (else: `jlpm build:api-types`)
    expect(stderr).toBe('');
    expect(status).toBe(0);
  });

  it('is reported stale once it differs', () => {
    // Given a copy that lost one field
    const folder = mkdtempSync(path.join(tmpdir(), 'api-types-'));
    const stale = path.join(folder, 'api_types.ts');
    const text = readFileSync(path.join(ROOT, 'src', 'api_types.ts'), 'utf8');
    writeFileSync(stale, text.replace(/\n\s*kernelspecs: string\[\];/, ''));
    try {
      // When it is checked; Then the check fails and says how to regenerate
      const { status, stderr } = check(stale);
      expect(status).toBe(1);
      expect(stderr).toContain('jlpm build:api-types');
    } finally {
      rmSync(folder, { recursive: true });
    }
  });
});
