// Drives the sign-in page, the account page and sign-out in Debian's headless Chromium.
// Usage: node signin.mjs BASE_URL [SCREENSHOT_DIR]. Exits non-zero on the first failure.
import { look, run } from './harness.mjs';
import assert from 'node:assert/strict';

await run(async ({ page, context, step, base, shots }) => {

  await step('an anonymous visit to /account leads to the sign-in page', async () => {
    await page.goto(`${base}/account`);
    assert.equal(new URL(page.url()).pathname, '/login');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await look(page, shots, 'sign-in');
  });

  await step('a wrong password shows one neutral message', async () => {
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('alert').waitFor();
    assert.equal((await page.getByRole('alert').textContent()).trim(), 'Incorrect username or password.');
    assert.equal(await page.getByLabel('Username').inputValue(), 'bob', 'the username is kept');
    assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'password',
      'the focus is on the field to fix');
    assert.equal(await page.getByLabel('Password').getAttribute('aria-describedby'), 'form-error');
    await look(page, shots, 'sign-in-refused');
  });

  await step('the right password signs in, offers enrolment, and can skip to the account page', async () => {
    await page.getByLabel('Password').fill('twofold-demo-pass');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Security info' }).waitFor();
    await page.getByRole('link', { name: 'Skip for now' }).click();
    await page.getByRole('heading', { name: 'Signed in as Bob Brown' }).waitFor();
    assert.equal(new URL(page.url()).pathname, '/account');
    assert.ok((await page.content()).includes('this browser'));
    await look(page, shots, 'account');
  });

  await step('the session cookie is not readable by scripts', async () => {
    const cookies = await context.cookies(base);
    const session = cookies.find((c) => c.name === 'twofold_session');
    assert.ok(session && session.httpOnly && session.sameSite === 'Lax', JSON.stringify(cookies));
    assert.equal(await page.evaluate(() => document.cookie.includes('twofold_session')), false);
  });

  await step('sign out ends the session and says so', async () => {
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.getByRole('status').innerText(), 'You are signed out.');
    await look(page, shots, 'signed-out');
    await page.goto(`${base}/account`);
    assert.equal(new URL(page.url()).pathname, '/login');
  });

  await step('an unknown address has a title and a way back', async () => {
    const response = await page.goto(`${base}/no/such/page`);
    assert.equal(response.status(), 404);
    await page.getByRole('heading', { name: 'Not found' }).waitFor();
    await look(page, shots, 'not-found');
  });
});
