// Shared harness for the browser scripts: launches Debian's headless Chromium with a fresh
// profile, runs named steps, fails on script errors and CSP violations, and prints
// "N passed, N failed" for the Rust test that runs it. Usage in a script:
//   import { run } from './harness.mjs';
//   await run(async ({ page, context, step, base, shots }) => { await step('...', async () => {...}); });
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh Chromium with its own profile: another person's browser beside the first. */
export async function launch() {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'twofold-chromium-')), {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

export async function run(body) {
  const base = process.argv[2];
  const shots = process.argv[3];
  assert.ok(base, 'usage: node SCRIPT BASE_URL [SCREENSHOT_DIR]');
  const context = await launch();
  const problems = [];
  let passed = 0;
  const step = async (name, fn) => { await fn(); passed += 1; console.log(`ok - ${name}`); };
  try {
    const page = context.pages()[0] ?? await context.newPage();
    page.on('console', (m) => { if (/Content Security Policy|Uncaught/i.test(m.text())) problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(String(e)));
    await body({ page, context, step, base, shots: shots && ((name) => join(shots, name)) });
    await step('no script error and no Content-Security-Policy violation', async () => {
      assert.deepEqual(problems, []);
    });
    console.log(`${passed} passed, 0 failed`);
  } catch (error) {
    console.error(`not ok - ${error.stack || error}`);
    console.log(`${passed} passed, 1 failed`);
    process.exitCode = 1;
  } finally {
    await context.close();
  }
}
