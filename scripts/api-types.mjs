// src/api_types.ts from jupyter_cloudlab/openapi.yaml (itself generated from the pydantic
// models by `python -m jupyter_cloudlab.handlers.openapi`), through openapi-typescript, then
// prettier. `node scripts/api-types.mjs --check [FILE]` only says whether the file (by default
// src/api_types.ts) is current: src/__tests__/api_types.spec.ts runs it, so `jlpm test` fails
// on a stale file.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';
import * as prettier from 'prettier';

const ROOT = new URL('../', import.meta.url);
const SPEC = new URL('jupyter_cloudlab/openapi.yaml', ROOT);
const TARGET = fileURLToPath(new URL('src/api_types.ts', ROOT));
const REGENERATE = 'jlpm build:api-types';
const BANNER = `/* eslint-disable */
// GENERATED from jupyter_cloudlab/openapi.yaml by scripts/api-types.mjs: do not edit.
// Regenerate with \`${REGENERATE}\` (after \`python -m jupyter_cloudlab.handlers.openapi\`).
// src/tokens.ts names these types for the rest of src/.
`;

async function generate() {
  const ast = await openapiTS(SPEC, { defaultNonNullable: false });
  const text = BANNER + '\n' + astToString(ast);
  const options = (await prettier.resolveConfig(TARGET)) ?? {};
  return prettier.format(text, { ...options, filepath: TARGET });
}

const wanted = await generate();
const check = process.argv.indexOf('--check');
if (check >= 0) {
  const file = process.argv[check + 1] ?? TARGET;
  const current = await readFile(file, 'utf8').catch(() => '');
  if (current !== wanted) {
    console.error(
      `${file} is stale (it differs from jupyter_cloudlab/openapi.yaml): run \`${REGENERATE}\`.`
    );
    process.exit(1);
  }
} else {
  await writeFile(TARGET, wanted);
  console.log(`wrote ${TARGET}`);
}
