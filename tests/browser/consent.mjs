// A third-party app's consent screen in Debian's headless Chromium: the person signs in, sees
// what the app asks for, and allows it; the app's callback gets a code; the next request
// asks nothing. Usage: node consent.mjs BASE_URL SCREENSHOT_DIR CLIENT_ID CALLBACK_URL (the app's
// registered redirect URI on a free port of this machine, where this script listens as the app).
import { look, run } from './harness.mjs';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const clientId = process.argv[4];
const callback = process.argv[5];
const codes = [];
const app = createServer((request, response) => {
  const url = new URL(request.url, callback);
  if (url.pathname === new URL(callback).pathname) codes.push(url);
  response.writeHead(200, { 'content-type': 'text/plain' }).end('the app got its answer');
});
await new Promise((resolve) => app.listen(Number(new URL(callback).port), resolve));

await run(async ({ page, step, base, shots }) => {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const authorize = `${base}/oauth2/authorize?` + new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: callback, scope: 'openid email groups',
    state: 'st-1', code_challenge: challenge, code_challenge_method: 'S256',
  });

  await step('the app sends the person to sign in first', async () => {
    await page.goto(authorize);
    await page.getByLabel('Username').fill('bob');
    await page.getByLabel('Password').fill('twofold-demo-pass');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Security info' }).waitFor();
    await page.getByRole('link', { name: 'Skip for now' }).click();
  });

  await step('the consent screen names the app and what it asks for', async () => {
    await page.getByRole('heading', { name: 'Allow Partner Wiki?' }).waitFor();
    const text = await page.locator('main').textContent();
    assert.ok(text.includes('see your email address') && text.includes('see the groups you belong to'), text);
    assert.ok(text.includes('Bob Brown'), text);
    await look(page, shots, 'consent');
  });

  await step('Allow sends a code and the state to the app', async () => {
    await page.getByRole('button', { name: 'Allow', exact: true }).click();
    await page.getByText('the app got its answer').waitFor();
    assert.equal(codes.length, 1);
    assert.ok(codes[0].searchParams.get('code'), codes[0].href);
    assert.equal(codes[0].searchParams.get('state'), 'st-1');
  });

  await step('the next sign-in to the app asks nothing', async () => {
    await page.goto(authorize);
    await page.getByText('the app got its answer').waitFor();
    assert.equal(codes.length, 2);
    assert.ok(codes[1].searchParams.get('code'));
  });

  await step('the account page lists the app, and removing its access makes it ask again', async () => {
    await page.goto(`${base}/account`);
    await page.getByRole('heading', { name: 'Apps you allowed' }).waitFor();
    await look(page, shots, 'account-with-app');
    await page.getByRole('button', { name: 'Remove access for Partner Wiki' }).click();
    await page.getByText('that app no longer has access to your account').waitFor();
    await page.goto(authorize);
    await page.getByRole('heading', { name: 'Allow Partner Wiki?' }).waitFor();
  });
});
app.close();
