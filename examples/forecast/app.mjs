// A small forecast app that uses Twofold the way a business app should: people sign in with
// OpenID Connect (code flow with PKCE), "Adjust forecast" first asks Twofold for a fresh
// passkey (acr_values=phr, max_age=0), and a change over 10% is raised as an approval request
// for the person's supervisors. The change is applied only after the app has verified the
// signed receipt offline (JWKS), checked it names this app, this request and exactly this
// change, and that it says "approved". Node 20+, no packages: `node app.mjs`.
//
// Environment: TWOFOLD_URL (the issuer, e.g. http://localhost:8080), FORECAST_CLIENT_ID,
// FORECAST_CLIENT_SECRET (from `twofold client add Forecast --redirect-uri
// http://localhost:8000/callback`), FORECAST_PORT (8000), FORECAST_URL
// (http://localhost:PORT). Register the callback with `twofold approvals callbacks CLIENT_ID
// http://localhost:8000/approvals/callback`. FORECAST_FRESH_SECONDS (120): how recent the
// passkey must be before an adjustment, 0 to ask for it before each one. State lives in
// memory: this is an example.
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { createServer } from 'node:http';

const issuer = (process.env.TWOFOLD_URL || 'http://localhost:8080').replace(/\/$/, '');
const clientId = process.env.FORECAST_CLIENT_ID;
const clientSecret = process.env.FORECAST_CLIENT_SECRET;
const port = Number(process.env.FORECAST_PORT || 8000);
const self = (process.env.FORECAST_URL || `http://localhost:${port}`).replace(/\/$/, '');
if (!clientId || !clientSecret) throw new Error('set FORECAST_CLIENT_ID and FORECAST_CLIENT_SECRET');

/** Changes larger than this (in percent, either way) need an approval. */
const APPROVAL_ABOVE = 10;
/** How recent the passkey must be before "Adjust forecast" (0: proved for each one). */
const FRESH_SECONDS = Number(process.env.FORECAST_FRESH_SECONDS ?? 120);

const forecast = new Map([['emea', 1000], ['americas', 1400], ['apac', 800]]);
const sessions = new Map(); // cookie → { sub, name, idClaims, accessToken }
const logins = new Map(); // state → { verifier, nonce, intent }
const pending = new Map(); // approval id → { region, before, after, hash, by }
const log = []; // what happened, newest last

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const basic = () => `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;

let jwksCache = null;
async function keyFor(kid) {
  for (const fresh of [false, true]) {
    if (fresh || !jwksCache) jwksCache = (await (await fetch(`${issuer}/oauth2/jwks`)).json()).keys;
    const jwk = jwksCache.find((k) => k.kid === kid);
    if (jwk) return jwk;
  }
  throw new Error(`no key ${kid} in the JWKS`);
}

/** Verifies a compact JWS against Twofold's JWKS; its header and claims, or an error. */
async function verifyJws(token, typ) {
  const parts = String(token).split('.');
  if (parts.length !== 3) throw new Error('not a JWS');
  const header = JSON.parse(Buffer.from(parts[0], 'base64url'));
  if (typ && header.typ !== typ) throw new Error(`typ is ${header.typ}, not ${typ}`);
  const jwk = await keyFor(header.kid);
  if (jwk.alg !== header.alg) throw new Error('alg does not match the key');
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const data = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2], 'base64url');
  const ok = header.alg === 'RS256' ? verify('sha256', data, key, signature)
    : header.alg === 'ES256' ? verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature)
    : header.alg === 'EdDSA' ? verify(null, data, key, signature)
    : false;
  if (!ok) throw new Error('bad signature');
  const claims = JSON.parse(Buffer.from(parts[1], 'base64url'));
  if (claims.iss !== issuer) throw new Error(`iss is ${claims.iss}`);
  const audience = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audience.includes(clientId)) throw new Error('not for this app');
  return claims;
}

function startLogin(response, intent, extra = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('hex');
  const nonce = randomBytes(16).toString('hex');
  logins.set(state, { verifier, nonce, intent });
  const url = `${issuer}/oauth2/authorize?` + new URLSearchParams({
    response_type: 'code', client_id: clientId, redirect_uri: `${self}/callback`, scope: 'openid profile', state, nonce,
    code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256', ...extra,
  });
  response.writeHead(303, { location: url }).end();
}

/** Applies a change, or raises it for approval when it is too big; what to tell the person. */
async function adjust(session, region, units, reason) {
  const before = forecast.get(region);
  const percent = Math.round(((units - before) / before) * 10000) / 100;
  if (Math.abs(percent) <= APPROVAL_ABOVE) {
    forecast.set(region, units);
    log.push(`${session.name} changed ${region} from ${before} to ${units} (${percent}%)`);
    return `Changed ${region} to ${units}.`;
  }
  const response = await fetch(`${issuer}/api/v1/approvals`, {
    method: 'POST',
    headers: { authorization: basic(), 'content-type': 'application/json' },
    body: JSON.stringify({
      subject_token: session.accessToken, action: 'adjust_forecast', resource: `forecast/2027-Q1/${region}`,
      before: { units: before }, after: { units }, magnitude: { percent }, reason,
      callback_url: `${self}/approvals/callback`,
    }),
  });
  const raised = await response.json();
  if (response.status === 409) { // no rule covers it after all
    forecast.set(region, units);
    log.push(`${session.name} changed ${region} from ${before} to ${units} (${percent}%)`);
    return `Changed ${region} to ${units}.`;
  }
  if (response.status !== 201) throw new Error(`Twofold refused the request: ${raised.detail || response.status}`);
  pending.set(raised.id, { region, before, after: units, hash: raised.content_hash, by: session.name });
  log.push(`${session.name} asked to change ${region} from ${before} to ${units} (${percent}%): waiting for ${raised.approvers}`);
  return `A change of ${percent}% needs approval from ${raised.approvers}. It is applied once approved.`;
}

/** Checks a receipt and applies (or drops) the change it decides; throws on any mismatch. */
async function settle(receipt) {
  const claims = await verifyJws(receipt, 'twofold-approval-receipt+jwt');
  const approval = claims.approval;
  const change = pending.get(approval.id);
  if (!change) throw new Error('not a request of this app waiting for its answer');
  const resource = `forecast/2027-Q1/${change.region}`;
  const same = approval.action === 'adjust_forecast' && approval.resource === resource
    && approval.content_hash === change.hash && approval.before?.units === change.before
    && approval.after?.units === change.after;
  if (!same) throw new Error('the receipt is for a different change');
  pending.delete(approval.id);
  if (approval.state !== 'approved') {
    log.push(`the change of ${change.region} to ${change.after} was ${approval.state}: nothing changed`);
    return;
  }
  forecast.set(change.region, change.after);
  const by = approval.approvers.map((a) => `${a.username} (${a.amr.join(' ')})`).join(', ');
  log.push(`applied ${change.region} = ${change.after} after approval by ${by}`);
}

function page(session, message = '') {
  const rows = [...forecast].map(([region, units]) => `<tr><th scope="row">${escape(region)}</th><td>${units}</td><td>
    <form method="post" action="/adjust"><input type="hidden" name="region" value="${escape(region)}">
    <label>New units for ${escape(region)} <input name="units" type="number" min="0" value="${units}"></label>
    <label>Reason for ${escape(region)} <input name="reason" value=""></label>
    <button type="submit">Adjust forecast for ${escape(region)}</button></form></td></tr>`).join('');
  const waiting = [...pending].map(([id, c]) => `<li>${escape(c.region)}: ${c.before} → ${c.after}, waiting for approval
    <a href="/check/${escape(id)}">Check now</a></li>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Forecast</title><style>body{font:16px system-ui,sans-serif;margin:1rem auto;max-width:60rem;padding:0 1rem}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #ccc;padding:.5rem;text-align:left;vertical-align:top}
label{display:block;margin:.25rem 0}input{font:inherit;max-width:100%;box-sizing:border-box}button{font:inherit;margin-top:.25rem}
li{overflow-wrap:anywhere}@media (max-width:40rem){table,tbody,tr,th,td{display:block}thead{display:none}tr{border-bottom:2px solid #999}}</style></head><body><main>
<h1>Forecast 2027-Q1</h1>${session ? `<p>Signed in as ${escape(session.name)}</p>` : '<p><a href="/login">Sign in with Twofold</a></p>'}
${message ? `<p role="status">${escape(message)}</p>` : ''}
<table><thead><tr><th scope="col">Region</th><th scope="col">Units</th><th scope="col">Adjust</th></tr></thead><tbody>${rows}</tbody></table>
<h2>Waiting for approval</h2><ul>${waiting || '<li>Nothing</li>'}</ul>
<h2>Log</h2><ol>${log.map((l) => `<li>${escape(l)}</li>`).join('')}</ol></main></body></html>`;
}

const cookieOf = (request) => /(?:^|; )forecast=([^;]+)/.exec(request.headers.cookie || '')?.[1];
const body = (request) => new Promise((resolve) => {
  let text = '';
  request.on('data', (chunk) => { text += chunk; if (text.length > 65536) request.destroy(); });
  request.on('end', () => resolve(text));
});

const server = createServer(async (request, response) => {
  const url = new URL(request.url, self);
  const session = sessions.get(cookieOf(request));
  const html = (status, text) => response.writeHead(status, { 'content-type': 'text/html; charset=utf-8' }).end(text);
  try {
    if (request.method === 'GET' && url.pathname === '/') return html(200, page(session, url.searchParams.get('m') || ''));
    if (request.method === 'GET' && url.pathname === '/login') return startLogin(response, null);
    if (request.method === 'GET' && url.pathname === '/callback') {
      const login = logins.get(url.searchParams.get('state'));
      logins.delete(url.searchParams.get('state'));
      if (!login) return html(400, 'Unknown sign-in: start again.');
      if (url.searchParams.get('error')) return html(403, `Twofold said: ${escape(url.searchParams.get('error_description') || url.searchParams.get('error'))}`);
      const tokens = await (await fetch(`${issuer}/oauth2/token`, {
        method: 'POST',
        headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: url.searchParams.get('code'),
          redirect_uri: `${self}/callback`, code_verifier: login.verifier }),
      })).json();
      const claims = await verifyJws(tokens.id_token);
      if (claims.nonce !== login.nonce || claims.exp * 1000 < Date.now()) throw new Error('stale or replayed ID token');
      const cookie = cookieOf(request) && sessions.get(cookieOf(request))?.sub === claims.sub ? cookieOf(request) : randomBytes(24).toString('hex');
      const next = { sub: claims.sub, name: claims.preferred_username || claims.sub, idClaims: claims, accessToken: tokens.access_token };
      sessions.set(cookie, next);
      let message = '';
      if (login.intent) {
        const fresh = claims.acr === 'phr' || claims.acr === 'phrh';
        message = fresh ? await adjust(next, login.intent.region, login.intent.units, login.intent.reason)
          : 'Adjusting the forecast needs your passkey.';
      }
      response.writeHead(303, { location: `/?m=${encodeURIComponent(message)}`,
        'set-cookie': `forecast=${cookie}; HttpOnly; SameSite=Lax; Path=/` }).end();
      return undefined;
    }
    if (request.method === 'POST' && url.pathname === '/adjust') {
      if (!session) return html(401, 'Sign in first.');
      const form = new URLSearchParams(await body(request));
      const region = form.get('region');
      const units = Number(form.get('units'));
      if (!forecast.has(region) || !Number.isInteger(units) || units < 0) return html(422, 'Give a region and whole units.');
      const intent = { region, units, reason: form.get('reason') || 'no reason given' };
      const proved = session.idClaims.acr === 'phr' || session.idClaims.acr === 'phrh';
      if (!proved || Date.now() / 1000 - session.idClaims.auth_time >= FRESH_SECONDS) {
        // Step-up: a passkey, proved now (the ID token's auth_time says when).
        return startLogin(response, intent, { acr_values: 'phr', max_age: '0' });
      }
      const message = await adjust(session, region, units, intent.reason);
      response.writeHead(303, { location: `/?m=${encodeURIComponent(message)}` }).end();
      return undefined;
    }
    if (request.method === 'POST' && url.pathname === '/approvals/callback') {
      const receipt = (await body(request)).trim();
      try {
        await settle(receipt);
        response.writeHead(204).end();
      } catch (error) {
        log.push(`refused a receipt: ${error.message}`);
        response.writeHead(400, { 'content-type': 'text/plain' }).end(error.message);
      }
      return undefined;
    }
    if (request.method === 'GET' && url.pathname.startsWith('/check/')) {
      const id = url.pathname.slice('/check/'.length);
      const answer = await (await fetch(`${issuer}/api/v1/approvals/${encodeURIComponent(id)}`, { headers: { authorization: basic() } })).json();
      if (answer.receipt && pending.has(id)) await settle(answer.receipt);
      response.writeHead(303, { location: `/?m=${encodeURIComponent(`The request is ${answer.state || 'unknown'}.`)}` }).end();
      return undefined;
    }
    if (request.method === 'GET' && url.pathname === '/state') {
      response.writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ forecast: Object.fromEntries(forecast), pending: [...pending.keys()], log }));
      return undefined;
    }
    return html(404, 'Not found');
  } catch (error) {
    log.push(`error: ${error.message}`);
    return html(500, `Something went wrong: ${escape(error.message)}`);
  }
});
server.listen(port, '127.0.0.1', () => console.log(`forecast app listening on ${self}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
