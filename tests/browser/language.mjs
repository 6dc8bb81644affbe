// The pages in the reader's language, and at the public address, in Debian's headless
// Chromium: a browser that asks for German gets German pages (sign-in, Security info,
// account), axe-clean at desktop and phone width; the footer's switch to English sticks; an
// address typed with 127.0.0.1 is sent on to the public address (localhost), where passkeys
// work. Usage: node language.mjs BASE_URL [SCREENSHOT_DIR]
import { look, run } from './harness.mjs';
import assert from 'node:assert/strict';

await run(async ({ page, step, base, shots }) => {
  await page.setExtraHTTPHeaders({ 'Accept-Language': 'de-DE,de;q=0.9,en;q=0.5' });

  await step('a browser that asks for German gets the sign-in page in German', async () => {
    await page.goto(`${base}/login`);
    await page.getByRole('heading', { name: 'Anmelden' }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    await look(page, shots, 'sign-in-de');
  });

  await step('a wrong password is refused in German, tied to the field', async () => {
    await page.getByLabel('Benutzername').fill('bob');
    await page.getByLabel('Passwort').fill('nicht das Passwort');
    await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
    assert.equal((await page.getByRole('alert').textContent()).trim(), 'Benutzername oder Passwort ist falsch.');
    assert.equal(await page.getByLabel('Passwort').getAttribute('aria-describedby'), 'form-error');
  });

  await step('Security info and the account page read in German', async () => {
    await page.getByLabel('Passwort').fill('twofold-demo-pass');
    await page.getByRole('button', { name: 'Anmelden', exact: true }).click();
    await page.getByRole('heading', { name: 'Sicherheitsinformationen' }).waitFor();
    await look(page, shots, 'security-de');
    await page.getByRole('link', { name: 'Vorerst überspringen' }).click();
    await page.getByRole('heading', { name: 'Angemeldet als Bob Brown' }).waitFor();
    await look(page, shots, 'account-de');
  });

  await step('the footer switches to English, and the choice outlasts the browser asking for German', async () => {
    await page.getByRole('link', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Signed in as Bob Brown' }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await page.goto(`${base}/account`);
    await page.getByRole('heading', { name: 'Signed in as Bob Brown' }).waitFor();
  });

  await step('an address typed with 127.0.0.1 is sent on to the public address', async () => {
    const loopback = new URL(base);
    loopback.hostname = '127.0.0.1';
    await page.goto(`${loopback.origin}/login?return_to=/account/security`);
    // There bob is signed in already, so the sign-in page sends him on to where he was going.
    await page.getByRole('heading', { name: 'Security info' }).waitFor();
    const landed = new URL(page.url());
    assert.equal(landed.hostname, 'localhost');
    assert.equal(landed.pathname, '/account/security');
  });
});
