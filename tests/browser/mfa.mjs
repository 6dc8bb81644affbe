// Drives second factors in Debian's headless Chromium: enrol an authenticator app with
// codes from oathtool (an independent TOTP generator), sign out, sign in with a code,
// generate recovery codes, sign in with one. Usage: node mfa.mjs BASE_URL [SCREENSHOT_DIR]
import { look, run } from './harness.mjs';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const totp = (key, offsetSeconds = 0) =>
  execFileSync('oathtool', ['--totp', '-b', key, '-N', `@${Math.floor(Date.now() / 1000) + offsetSeconds}`]).toString().trim();

await run(async ({ page, context, step, base, shots }) => {
  const signInWithPassword = async () => {
    await page.goto(`${base}/login`);
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill('twofold-demo-pass');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  };
  const signOut = async () => {
    await page.goto(`${base}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  };
  let key;

  await step('first sign-in leads to guided enrolment of an authenticator app', async () => {
    await signInWithPassword();
    await page.getByRole('heading', { name: 'Security info' }).waitFor();
    await page.getByRole('button', { name: 'Add authenticator app' }).click();
    await page.getByRole('heading', { name: 'Add authenticator app' }).waitFor();
    assert.equal(await page.locator('figure.qr svg').count(), 1, 'a QR code is shown');
    const shown = (await page.locator('#secret').textContent()).trim();
    assert.match(shown, /^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/, 'the key is shown in groups of four');
    key = shown.replace(/\s/g, '');
    assert.match(key, /^[A-Z2-7]{32}$/);
    await look(page, shots, 'totp-enrol');
  });

  await step('a code from the app finishes enrolment (the test authentication)', async () => {
    await page.getByLabel('Verification code').fill(totp(key));
    await page.getByRole('button', { name: 'Finish' }).click();
    await page.getByText('Authenticator app added.').waitFor();
    assert.ok(await page.getByRole('cell', { name: 'Authenticator app', exact: true }).count() >= 1);
  });

  await step('sign-in now asks for a code, and a code from the app signs in', async () => {
    await signOut();
    await signInWithPassword();
    await page.getByRole('heading', { name: "Verify it's you" }).waitFor();
    await look(page, shots, 'second-step');
    await page.getByLabel('Verification code').fill('000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('alert').waitFor();
    await page.getByLabel('Verification code').fill(totp(key, 30));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: 'Signed in as Carol Chen' }).waitFor();
  });

  let codes;
  await step('recovery codes are generated and shown once', async () => {
    await page.getByRole('navigation').getByRole('link', { name: 'Security info' }).click();
    await page.getByRole('button', { name: 'Generate new recovery codes' }).click();
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    codes = await page.getByRole('list', { name: 'Recovery codes' }).locator('code').allTextContents();
    assert.equal(codes.length, 10);
    await look(page, shots, 'recovery-codes');
  });

  await step('a recovery code signs in through "use another method"', async () => {
    await signOut();
    await signInWithPassword();
    await page.getByText('Use another method').click();
    await page.getByLabel('Recovery code').fill(codes[0]);
    await page.getByRole('button', { name: 'Use recovery code' }).click();
    await page.getByRole('heading', { name: 'Signed in as Carol Chen' }).waitFor();
    await page.getByRole('navigation').getByRole('link', { name: 'Security info' }).click();
    await page.getByText('9 unused').waitFor();
    await look(page, shots, 'security-info');
  });
});
