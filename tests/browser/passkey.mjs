// Passkeys in Debian's headless Chromium, with DevTools' virtual authenticator standing in
// for a security key: register a passkey, use it as the second step, then sign in with it
// and no username at all, from the username field's autofill (conditional mediation, which
// the virtual authenticator answers as soon as it may) and from the button while the autofill
// request waits. Usage: node passkey.mjs BASE_URL [SCREENSHOT_DIR]
import { look, run } from './harness.mjs';
import assert from 'node:assert/strict';

await run(async ({ page, context, step, base, shots }) => {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
               isUserVerified: true, automaticPresenceSimulation: true },
  });
  // Whether the authenticator answers by itself (a person touching the key); off, a request
  // waits, as the sign-in page's autofill request does until a person picks the passkey.
  const presence = (enabled) => cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled });
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
    await presence(false);
    await signOut();
    await signInWithPassword();
    await page.getByRole('heading', { name: "Verify it's you" }).waitFor();
    await presence(true);
    await page.getByRole('button', { name: 'Use passkey' }).click();
    await page.getByRole('heading', { name: 'Signed in as Dave Diaz' }).waitFor();
    assert.ok((await page.content()).includes('Password and passkey or security key'));
  });

  await step('the username field offers the passkey, which signs in without a username', async () => {
    await page.goto(`${base}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await page.getByRole('heading', { name: 'Signed in as Dave Diaz' }).waitFor();
    assert.ok((await page.content()).includes('Signed in with</dt><dd>Passkey or security key,'));
  });

  await step('the button signs in with the passkey while the autofill request waits', async () => {
    await presence(false);
    await signOut();
    assert.equal(await page.evaluate(() => PublicKeyCredential.isConditionalMediationAvailable()), true);
    // The autofill request already waits for a person; the key now answers the next request.
    await presence(true);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('heading', { name: 'Signed in as Dave Diaz' }).waitFor();
    assert.ok((await page.content()).includes('Signed in with</dt><dd>Passkey or security key,'));
  });

  await step('the sign counter moved with each use', async () => {
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    assert.ok(credentials[0].signCount >= 2, `signCount ${credentials[0].signCount}`);
  });
});
