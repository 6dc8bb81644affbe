// The admin console in Debian's headless Chromium: an auditor (audrey) signs in with a
// passkey, opens the console and searches the audit log; each page is looked at at desktop
// and phone width. Usage: node console.mjs BASE_URL SCREENSHOT_DIR
import { look, run, signInAddingPasskey, virtualAuthenticator } from './harness.mjs';

await run(async ({ page, context, step, base, shots }) => {
  await virtualAuthenticator(context, page);

  await step('audrey signs in and adds a passkey', async () => {
    await signInAddingPasskey(page, base, 'audrey');
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
