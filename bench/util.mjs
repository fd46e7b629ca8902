// util.mjs - what the Node benchmark scripts share: settings, the ws package, percentiles, tokens.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The source tree's top directory. */
export const SRC = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The ws package, from tests/e2e/node_modules (`cd tests/e2e && npm ci`). */
export const WebSocket = createRequire(join(SRC, 'tests', 'e2e', 'node_modules') + '/')('ws');

/** The positive integer in environment variable name, or dflt when it is unset or
 * empty; throws naming the variable when it is anything else. */
export function intEnv(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^[1-9][0-9]*$/.test(raw)) throw new Error(`${name} must be a positive number, not '${raw}'`);
  return Number(raw);
}

/** The nearest-rank p-th percentile (0 < p <= 100) of an ascending array; NaN when it is empty. */
export function percentile(sorted, p) {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** A token for sub in tenant, valid for an hour, minted with `cli token --key key`
 * (synchronously: mint before any clock starts); throws with the CLI's stderr. */
export function mintToken(cli, key, sub, tenant) {
  const r = spawnSync(cli, ['token', '--key', key, '--sub', sub, '--tenant', tenant, '--ttl', '3600'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`streamer token failed (${r.status}): ${r.stderr}`);
  return r.stdout.trim();
}
