// Step-up inside an app, in Debian's headless Chromium with DevTools' virtual authenticator:
// before a sensitive action an app asks "re-authenticate now" — `acr_values=phr` with
// `max_age=0`, or `prompt=login` — and the person proves the passkey once and comes back with
// a code (before the fix, `max_age=0` sent them to the step-up page for ever). The app then
// checks what OpenID Connect asks it to: the ID token's `auth_time` is no older than its
// request, and `acr` is the strength it asked for.
// Usage: node stepup.mjs BASE_URL SCREENSHOT_DIR CLIENT_ID CLIENT_SECRET CALLBACK_URL
import { look, run } from './harness.mjs';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

const [clientId, clientSecret, callback] = process.argv.slice(4);
const app = createServer((request, response) => {
  response.writeHead(200, { 'content-type': 'text/plain' }).end('the app got its answer');
});
await new Promise((resolve) => app.listen(Number(new URL(callback).port), resolve));

await run(async ({ page, context, step, base, shots }) => {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
               isUserVerified: true, automaticPresenceSimulation: true },
  });

  // Sends the person to the app's authorization request with `extra`; returns the ID token's
  // claims once the app has its code, after checking the app's own state came back.
  const authorizeAndRedeem = async (extra, before) => {
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(8).toString('hex');
    const url = `${base}/oauth2/authorize?` + new URLSearchParams({
      response_type: 'code', client_id: clientId, redirect_uri: callback, scope: 'openid', state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256',
      ...extra,
    });
    await page.goto(url);
    await before();
    await page.waitForURL((u) => u.href.startsWith(callback), { timeout: 15000 });
    const back = new URL(page.url());
    assert.equal(back.searchParams.get('state'), state);
    const code = back.searchParams.get('code');
    assert.ok(code, back.href);
    const response = await fetch(`${base}/oauth2/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: callback, code_verifier: verifier }),
    });
    const tokens = await response.json();
    assert.equal(response.status, 200, JSON.stringify(tokens));
    return JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString());
  };

  await step('dave signs in with his password and adds a passkey', async () => {
    await page.goto(`${base}/login`);
    await page.getByLabel('Username').fill('dave');
    await page.getByLabel('Password').fill('twofold-demo-pass');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Security info' }).waitFor();
    await page.getByLabel('Name for the passkey').fill('Laptop key');
    await page.getByRole('button', { name: 'Add passkey' }).click();
    await page.getByRole('cell', { name: 'Laptop key', exact: true }).waitFor();
  });

  await step('acr_values=phr with max_age=0 asks for the passkey once, then the app gets its code', async () => {
    const asked = Math.floor(Date.now() / 1000);
    let steppedUp = 0;
    const claims = await authorizeAndRedeem({ acr_values: 'phr', max_age: '0' }, async () => {
      await page.getByRole('heading', { name: /it's you/ }).waitFor();
      await look(page, shots, 'step-up-for-app');
      steppedUp += 1;
      await page.getByRole('button', { name: 'Use passkey' }).click();
    });
    assert.equal(steppedUp, 1);
    assert.equal(claims.acr, 'phr', JSON.stringify(claims));
    assert.ok(claims.auth_time >= asked, `auth_time ${claims.auth_time} is older than the request (${asked})`);
  });

  await step('prompt=login signs in afresh once (the passkey from autofill), then the app gets its code', async () => {
    const asked = Math.floor(Date.now() / 1000);
    const claims = await authorizeAndRedeem({ prompt: 'login' }, async () => {});
    assert.ok(claims.auth_time >= asked, `auth_time ${claims.auth_time} is older than the request (${asked})`);
    assert.ok(claims.amr.includes('hwk'), JSON.stringify(claims));
  });
});
app.close();
