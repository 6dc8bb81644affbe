// The admin console in Debian's headless Chromium: an auditor (audrey) signs in with a
// passkey, opens the console and searches the audit log; each page is looked at at desktop
// and phone width. Usage: node console.mjs BASE_URL SCREENSHOT_DIR
import { look, run } from './harness.mjs';

await run(async ({ page, context, step, base, shots }) => {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true,
               isUserVerified: true, automaticPresenceSimulation: true },
  });

  await step('audrey signs in and adds a passkey', async () => {
    await page.goto(`${base}/login`);
    await page.getByLabel('Username').fill('audrey');
    await page.getByLabel('Password').fill('twofold-demo-pass');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Security info' }).waitFor();
    await page.getByLabel('Name for the passkey').fill('Laptop key');
    await page.getByRole('button', { name: 'Add passkey' }).click();
    await page.getByRole('cell', { name: 'Laptop key', exact: true }).waitFor();
  });

  await step('the console shows the sections an auditor may open', async () => {
    await page.goto(`${base}/admin`);
    await page.getByRole('heading', { name: 'Console' }).waitFor();
    await look(page, shots, 'console-home');
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('heading', { name: 'Audit log' }).waitFor();
    await look(page, shots, 'console-audit');
  });

  await step('the audit log is searched by action and the chain verified', async () => {
    await page.getByLabel('Action').fill('authenticator.add');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('cell', { name: 'authenticator.add' }).first().waitFor();
    await page.getByRole('link', { name: 'Verify the whole chain now' }).click();
    await page.getByText(/Intact: all \d+ events/).waitFor();
    await look(page, shots, 'console-audit-verified');
  });
});
