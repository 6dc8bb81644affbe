// Maker–checker approvals end to end in Debian's headless Chromium, with DevTools' virtual
// authenticator as each person's passkey and the example forecast app (examples/forecast)
// as the app: bob signs in to the app, adjusts the EMEA forecast by +15% (the app first asks
// for his passkey), the app raises an approval; carol (finance) finds it on her Approvals
// page, comes back to it signed out (as from her mail), signs in with her passkey, approves; the app verifies the receipt offline and only then
// applies the change. A receipt altered on the way is refused by the app.
// Usage: node approvals.mjs BASE_URL SCREENSHOT_DIR CLIENT_ID CLIENT_SECRET APP_PORT
import { launch, look, run, signInAddingPasskey, virtualAuthenticator } from './harness.mjs';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [clientId, clientSecret, appPort] = process.argv.slice(4);
const base = process.argv[2];
const appUrl = `http://localhost:${appPort}`;
const appScript = join(dirname(fileURLToPath(import.meta.url)), '../../examples/forecast/app.mjs');
const forecastApp = spawn(process.execPath, [appScript], {
  env: { ...process.env, TWOFOLD_URL: base, FORECAST_CLIENT_ID: clientId, FORECAST_CLIENT_SECRET: clientSecret,
         FORECAST_PORT: appPort, FORECAST_URL: appUrl, FORECAST_FRESH_SECONDS: '0' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
await new Promise((resolve, reject) => {
  forecastApp.stdout.once('data', (line) => (String(line).includes('listening') ? resolve() : reject(new Error(String(line)))));
  forecastApp.once('exit', (code) => reject(new Error(`the forecast app exited with ${code}`)));
});

const state = async () => (await fetch(`${appUrl}/state`)).json();

try {
  await run(async ({ page, context, step, shots }) => {
    await virtualAuthenticator(context, page);
    const carolsBrowser = await launch();
    try {
      const carol = carolsBrowser.pages()[0] ?? await carolsBrowser.newPage();
      await virtualAuthenticator(carolsBrowser, carol);

      await step('bob and carol each add a passkey', async () => {
        await signInAddingPasskey(page, base, 'bob');
        await signInAddingPasskey(carol, base, 'carol');
      });

      await step('bob signs in to the forecast app through Twofold', async () => {
        await page.goto(appUrl);
        await page.getByRole('link', { name: 'Sign in with Twofold' }).click();
        await page.getByText('Signed in as bob').waitFor();
      });

      await step('adjusting EMEA by +15% asks for bob\'s passkey, then waits for an approval', async () => {
        await page.getByLabel('New units for emea').fill('1150');
        await page.getByLabel('Reason for emea').fill('new distributor in Lyon');
        await page.getByRole('button', { name: 'Adjust forecast for emea' }).click();
        await page.getByRole('heading', { name: /it's you/ }).waitFor();
        await look(page, shots, 'forecast-step-up');
        await page.getByRole('button', { name: 'Use passkey' }).click();
        await page.getByText('needs approval from finance').waitFor();
        const now = await state();
        assert.equal(now.forecast.emea, 1000, 'nothing applied before the approval');
        assert.equal(now.pending.length, 1);
        await look(page, shots, 'forecast-waiting');
      });

      let requestUrl;
      await step('carol finds the request on her Approvals page and sees exactly what changes', async () => {
        await carol.goto(`${base}/approvals`);
        await carol.getByRole('heading', { name: 'Approvals' }).waitFor();
        await look(carol, shots, 'approvals-queue');
        await carol.getByRole('link', { name: /adjust_forecast: forecast\/2027-Q1\/emea/ }).click();
        await carol.getByRole('heading', { name: 'Approve: adjust_forecast' }).waitFor();
        requestUrl = carol.url();
        for (const shown of ['new distributor in Lyon', '"units": 1150', '"units": 1000', '15 %']) {
          await carol.getByText(shown, { exact: false }).first().waitFor();
        }
      });

      await step('carol opens the request from her mail signed out, signs in with her passkey, and approves', async () => {
        await carol.goto(`${base}/account`);
        await carol.getByRole('button', { name: 'Sign out', exact: true }).click();
        await carol.waitForURL(/\/login/);
        // The sign-in page offers her passkey at once (autofill; the virtual key answers as a
        // touch would) and returns her to the request.
        await carol.goto(requestUrl);
        await carol.waitForURL(requestUrl);
        await look(carol, shots, 'approval-request');
        await carol.getByLabel('Comment (optional)').fill('checked with sales');
        await carol.getByRole('button', { name: 'Approve', exact: true }).click();
        await carol.getByText('Your approval is recorded.').waitFor();
        await look(carol, shots, 'approval-decided');
      });

      await step('the app verifies the receipt and only then applies the change', async () => {
        let now;
        for (let i = 0; i < 100; i += 1) {
          now = await state();
          if (now.forecast.emea === 1150) break;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.equal(now.forecast.emea, 1150, JSON.stringify(now));
        assert.ok(now.log.some((l) => l.includes('after approval by carol (') && l.includes('hwk')), JSON.stringify(now.log));
        await page.goto(appUrl);
        await page.getByText('applied emea = 1150 after approval by carol').waitFor();
        await look(page, shots, 'forecast-applied');
      });

      await step('a receipt altered on the way is refused by the app', async () => {
        await page.getByLabel('New units for apac').fill('1000');
        await page.getByLabel('Reason for apac').fill('trade fair');
        await page.getByRole('button', { name: 'Adjust forecast for apac' }).click();
        await page.getByRole('button', { name: 'Use passkey' }).click();
        await page.getByText('needs approval from finance').waitFor();
        const [id] = (await state()).pending;
        const answer = await (await fetch(`${base}/api/v1/approvals/${id}`, {
          headers: { authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
        })).json();
        assert.equal(answer.state, 'pending');
        // A forged "approved" receipt: the claims of the earlier one, re-targeted, old signature.
        const earlier = (await state()).log;
        assert.ok(earlier.length > 0);
        const fake = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'twofold-approval-receipt+jwt', kid: 'x' })).toString('base64url');
        const claims = Buffer.from(JSON.stringify({ iss: base, aud: clientId, approval: { id, state: 'approved' } })).toString('base64url');
        const refused = await fetch(`${appUrl}/approvals/callback`, { method: 'POST', body: `${fake}.${claims}.AAAA` });
        assert.equal(refused.status, 400);
        assert.equal((await state()).forecast.apac, 800, 'not applied');
      });
    } finally {
      await carolsBrowser.close();
    }
  });
} finally {
  forecastApp.kill('SIGTERM');
}
