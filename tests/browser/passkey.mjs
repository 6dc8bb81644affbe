// Passkeys in Debian's headless Chromium, with DevTools' virtual authenticator standing in
// for a security key: register a passkey, use it as the second step, then sign in with it
// and no username at all. Usage: node passkey.mjs BASE_URL [SCREENSHOT_DIR]
import { look, run } from './harness.mjs';
import assert from 'node:assert/strict';

await run(async ({ page, context, step, base, shots }) => {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
               isUserVerified: true, automaticPresenceSimulation: true },
  });
  const signOut = async () => {
    await page.goto(`${base}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  };
  const signInWithPassword = async () => {
    await page.goto(`${base}/login`);
    await page.getByLabel('Username').fill('dave');
    await page.getByLabel('Password').fill('twofold-demo-pass');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  };

  await step('a passkey is added on the Security info page', async () => {
    await signInWithPassword();
    await page.getByRole('heading', { name: 'Security info' }).waitFor();
    await page.getByLabel('Name for the passkey').fill('Laptop key');
    await page.getByRole('button', { name: 'Add passkey' }).click();
    await page.getByRole('cell', { name: 'Passkey or security key' }).waitFor();
    await page.getByRole('cell', { name: 'Laptop key', exact: true }).waitFor();
    await look(page, shots, 'passkey-added');
  });

  await step('the authenticator holds one discoverable credential', async () => {
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.equal(credentials.length, 1);
    assert.equal(credentials[0].isResidentCredential, true);
  });

  await step('the passkey is the second step after the password', async () => {
    await signOut();
    await signInWithPassword();
    await page.getByRole('heading', { name: "Verify it's you" }).waitFor();
    await page.getByRole('button', { name: 'Use passkey' }).click();
    await page.getByRole('heading', { name: 'Signed in as Dave Diaz' }).waitFor();
    assert.ok((await page.content()).includes('Password and passkey or security key'));
  });

  await step('the passkey alone signs in, without a username', async () => {
    await signOut();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('heading', { name: 'Signed in as Dave Diaz' }).waitFor();
    assert.ok((await page.content()).includes('Signed in with</dt><dd>Passkey or security key,'));
  });

  await step('the sign counter moved with each use', async () => {
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.ok(credentials[0].signCount >= 2, `signCount ${credentials[0].signCount}`);
  });
});
