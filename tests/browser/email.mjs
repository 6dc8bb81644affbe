// Drives the email-code fallback in Debian's headless Chromium: add email codes from
// Security info with the code delivered to the tests' SMTP server, sign out, then sign in
// through "use another method" with a code sent by email.
// Usage: node email.mjs BASE_URL SCREENSHOT_DIR MAIL_DIR
import { look, run } from './harness.mjs';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const mailDir = process.argv[4];

/** The code in the newest delivered mail containing `needle`, waiting up to 10 s. */
const codeFromMail = async (needle, seen) => {
  for (let i = 0; i < 400; i++) {
    const mails = readdirSync(mailDir).filter((f) => f.endsWith('.eml')).sort()
      .map((f) => readFileSync(join(mailDir, f), 'utf8').replaceAll('=\r\n', ''))
      .filter((text) => text.includes(needle) && !seen.has(text));
    if (mails.length > 0) {
      seen.add(mails[mails.length - 1]);
      return mails[mails.length - 1].match(/verification code is (\d{6})/)[1];
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no mail containing ${needle}`);
};

await run(async ({ page, step, base, shots }) => {
  const seen = new Set();
  const signInWithPassword = async () => {
    await page.goto(`${base}/login`);
    await page.getByLabel('Username').fill('dave');
    await page.getByLabel('Password').fill('twofold-demo-pass');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  };

  await step('Security info offers email codes', async () => {
    await signInWithPassword();
    await page.getByRole('heading', { name: 'Security info' }).waitFor();
    await page.getByRole('button', { name: 'Add email codes' }).click();
    await page.getByRole('heading', { name: 'Confirm your email address' }).waitFor();
    await page.getByText('We sent a code to d•••@demo.twofold.test').waitFor();
  });

  await step('the code from the mail finishes adding the method', async () => {
    await page.getByLabel('Verification code').fill(await codeFromMail('confirm this contact method', seen));
    await page.getByRole('button', { name: 'Finish' }).click();
    await page.getByText('Added. You can now receive sign-in codes there.').waitFor();
    assert.ok(await page.getByRole('cell', { name: 'Email code', exact: true }).count() >= 1);
    await look(page, shots, 'email-added');
  });

  await step('sign-in offers "Email me a code" under another method', async () => {
    await page.goto(`${base}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await signInWithPassword();
    await page.getByRole('heading', { name: "Verify it's you" }).waitFor();
    await page.getByText('Use another method').click();
    await page.getByRole('button', { name: 'Email me a code at d•••@demo.twofold.test' }).click();
    await page.getByText('We sent a code to d•••@demo.twofold.test').waitFor();
  });

  await step('the emailed code signs in', async () => {
    await page.getByLabel('Verification code').fill(await codeFromMail('Use it to sign in', seen));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.getByRole('heading', { name: /Signed in as/ }).waitFor();
    assert.ok((await page.textContent('body')).includes('Password and authenticator app or token'));
  });
});
