// Shared harness for the browser scripts: launches Debian's headless Chromium with a fresh
// profile, runs named steps, fails on script errors and CSP violations, and prints
// "N passed, N failed" for the Rust test that runs it. Usage in a script:
//   import { run } from './harness.mjs';
//   await run(async ({ page, context, step, base, shots }) => { await step('...', async () => {...}); });
// `accessible(page, name)` runs axe-core on the page and fails on serious or critical problems.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Runs axe-core (npm) on the page as it is now, against WCAG 2.2 A and AA, and fails on
 * serious or critical violations, naming each rule and the elements. The source is
 * evaluated through DevTools, so the page's strict CSP stays as it is.
 */
export async function accessible(page, name) {
  await page.evaluate(`${axeSource};0`);
  const result = await page.evaluate(() => window.axe.run(document, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'] },
  }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const words = bad.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  assert.deepEqual(words, [], `${name}: accessibility violations`);
}

/** A fresh Chromium with its own profile: another person's browser beside the first. */
export async function launch() {
  return chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'twofold-chromium-')), {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
           '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/**
 * Looks at the page as a person would: no sideways scrolling and axe-core clean at desktop
 * and phone width, with a full-page screenshot of each when `shots` is given.
 */
export async function look(page, shots, name) {
  for (const [width, height, suffix] of [[1280, 800, 'desktop'], [390, 844, 'phone']]) {
    await page.setViewportSize({ width, height });
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `${name} at ${width} px scrolls sideways by ${overflow} px`);
    await accessible(page, `${name} at ${width} px`);
    if (shots) await page.screenshot({ path: shots(`${name}-${suffix}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 800 });
}

/** Gives `page` a virtual authenticator (DevTools) that answers as a touch would: a passkey. */
export async function virtualAuthenticator(context, page) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
               isUserVerified: true, automaticPresenceSimulation: true },
  });
  return { cdp, authenticatorId };
}

/** Signs `who` (the demo password) in on `page` and adds a passkey named "Laptop key". */
export async function signInAddingPasskey(page, base, who) {
  await page.goto(`${base}/login`);
  await page.getByLabel('Username').fill(who);
  await page.getByLabel('Password').fill('twofold-demo-pass');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.getByRole('heading', { name: 'Security info' }).waitFor();
  await page.getByLabel('Name for the passkey').fill('Laptop key');
  await page.getByRole('button', { name: 'Add passkey' }).click();
  await page.getByRole('cell', { name: 'Laptop key', exact: true }).waitFor();
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
