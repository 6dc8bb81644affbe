// The help desk in Debian's headless Chromium, two people side by side: the operator (erin)
// signs in with her security key (DevTools' virtual authenticator), opens a case for bob,
// verifies him with the code mailed to the address on file (read from the tests' SMTP
// server) and issues a temporary access pass; bob, in his own browser, signs in with the pass
// and lands on Security info, which is all it opens, and sets up his new phone there; the
// operator sees it marked new on the case and closes the case, which records it.
// Screenshots at desktop and phone width.
// Usage: node helpdesk.mjs BASE_URL SCREENSHOT_DIR MAIL_DIR
import { launch, look, run } from './harness.mjs';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

const totp = (key) => execFileSync('oathtool', ['--totp', '-b', key]).toString().trim();

const mailDir = process.argv[4];

/** The help desk's code in the newest mail to bob, waiting up to 10 s. */
const caseCode = async () => {
  for (let i = 0; i < 400; i++) {
    const mails = readdirSync(mailDir).filter((f) => f.endsWith('.eml')).sort()
      .map((f) => readFileSync(join(mailDir, f), 'utf8').replaceAll('=\r\n', ''))
      .filter((text) => text.includes('read them this code'));
    if (mails.length > 0) return mails[mails.length - 1].match(/read them this code: (\d{6})/)[1];
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error('no mail with the help desk\'s code');
};

await run(async ({ page, context, step, base, shots }) => {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true,
               isUserVerified: true, automaticPresenceSimulation: true },
  });
  const signIn = async (p, username) => {
    await p.goto(`${base}/login`);
    await p.getByLabel('Username').fill(username);
    await p.getByLabel('Password').fill('twofold-demo-pass');
    await p.getByRole('button', { name: 'Sign in', exact: true }).click();
  };
  let passcode;
  let caseUrl;

  await step('the operator signs in with her own security key', async () => {
    await signIn(page, 'erin');
    await page.getByRole('heading', { name: 'Security info' }).waitFor();
    await page.getByLabel('Name for the passkey').fill('Desk key');
    await page.getByRole('button', { name: 'Add passkey' }).click();
    await page.getByRole('cell', { name: 'Desk key', exact: true }).waitFor();
    await page.goto(`${base}/account`);
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await signIn(page, 'erin');
    await page.getByRole('button', { name: 'Use passkey' }).click();
    await page.getByRole('heading', { name: 'Signed in as Erin Evans' }).waitFor();
  });

  await step('she opens a case for bob; nothing can change before he is verified', async () => {
    await page.goto(`${base}/helpdesk`);
    await page.getByRole('heading', { name: 'Help desk' }).waitFor();
    await look(page, shots, 'helpdesk');
    await page.getByLabel('Username of the person').fill('bob');
    await page.getByLabel('Reason').selectOption('lost_device');
    await page.getByLabel('What the caller asks for').fill('Lost his phone on the train; has no other method.');
    await page.getByRole('button', { name: 'Open case' }).click();
    await page.getByRole('heading', { name: 'Case for bob' }).waitFor();
    caseUrl = page.url();
    await page.getByText('Changes become available once the caller').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Issue temporary access pass' }).count(), 0);
    await look(page, shots, 'case-opened');
  });

  await step('the code mailed to the address on file verifies him', async () => {
    await page.getByRole('button', { name: 'Email a code to the address on file' }).click();
    await page.getByText('A code went to b•••@demo.twofold.test').waitFor();
    await page.getByLabel('Code the caller reads out').fill(await caseCode());
    await page.getByRole('button', { name: 'Check code' }).click();
    await page.getByText('Verified: code to the email address on file.').waitFor();
  });

  await step('a temporary access pass is shown to her once', async () => {
    await page.getByLabel('Temporary access pass lifetime, in minutes').fill('30');
    await page.getByRole('button', { name: 'Issue temporary access pass' }).click();
    await page.getByRole('heading', { name: 'Temporary access pass' }).waitFor();
    passcode = (await page.locator('#passcode').textContent()).trim();
    assert.match(passcode, /^[0-9a-z]{4}(-[0-9a-z]{4}){3}$/);
    await look(page, shots, 'case-pass-issued');
  });

  await step('bob, in his own browser, signs in with the pass to Security info only', async () => {
    const bobs = await launch();
    try {
      const bob = bobs.pages()[0] ?? await bobs.newPage();
      await bob.goto(`${base}/login`);
      await bob.getByRole('link', { name: 'Sign in with a temporary access pass from your help desk' }).click();
      await bob.getByRole('heading', { name: 'Sign in with a temporary access pass' }).waitFor();
      await look(bob, shots, 'access-pass-sign-in');
      await bob.getByLabel('Username').fill('bob');
      await bob.getByLabel('Temporary access pass').fill(passcode);
      await bob.getByRole('button', { name: 'Sign in', exact: true }).click();
      await bob.getByRole('heading', { name: 'Security info' }).waitFor();
      await bob.getByRole('button', { name: 'Add authenticator app' }).waitFor();
      await look(bob, shots, 'security-info-with-pass');
      await bob.getByRole('button', { name: 'Add authenticator app' }).click();
      const key = (await bob.locator('#secret').textContent()).replace(/\s/g, '');
      await bob.getByLabel('Verification code').fill(totp(key));
      await bob.getByRole('button', { name: 'Finish' }).click();
      await bob.getByText('Authenticator app added.').waitFor();
    } finally {
      await bobs.close();
    }
  });

  await step('the operator sees the new method on the case and closes it, which records it', async () => {
    await page.goto(caseUrl);
    await page.getByText('new since the case opened').waitFor();
    assert.equal(await page.locator('#passcode').count(), 0, 'the passcode is shown once only');
    await look(page, shots, 'case-new-method');
    await page.getByLabel('Resolution').selectOption('resolved');
    await page.getByLabel('What was changed, or why nothing was').fill('Pass issued; bob set up his new phone.');
    await page.getByLabel('The person confirmed they can sign in again').check();
    await page.getByRole('button', { name: 'Close case' }).click();
    await page.getByText('The case is closed.').waitFor();
    await page.getByText('the person set up while the case was open: Authenticator app').waitFor();
    await look(page, shots, 'case-closed');
  });
});
