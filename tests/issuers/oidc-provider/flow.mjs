// Runs the OpenID Connect authorization code flow against the local issuer
// over plain HTTP, the way a browser would, and returns the token response
// (with the ID token).
//
// It uses oidc-provider's development login pages: the login page takes any
// account id, and the consent page has a single "continue" button.

import * as crypto from 'node:crypto';

const MAX_STEPS = 12;

// A cookie jar that keeps name=value pairs only. Paths and expiry do not
// matter for this short flow against a single host.
class CookieJar {
  #cookies = new Map();

  store(response) {
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair.indexOf('=');
      if (at > 0) {
        this.#cookies.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
      }
    }
  }

  header() {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

async function send(jar, url, { method = 'GET', form } = {}) {
  const headers = { cookie: jar.header() };
  let body;
  if (form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(form).toString();
  }
  const response = await fetch(url, { method, headers, body, redirect: 'manual' });
  jar.store(response);
  return response;
}

// Reads which step the development interaction page requests: "login" or
// "consent".
async function interactionPrompt(jar, url) {
  const response = await send(jar, url);
  const html = await response.text();
  const match = /name="prompt" value="([a-z]+)"/.exec(html);
  if (!match) {
    throw new Error(`prompt not found on the interaction page ${url} (HTTP ${response.status})`);
  }
  return match[1];
}

export async function getIdToken({
  issuer, clientId, clientSecret, redirectUri, nonce, login, scope = 'openid',
}) {
  const discovery = await (await fetch(new URL('.well-known/openid-configuration', issuer))).json();
  const jar = new CookieJar();
  const state = crypto.randomBytes(16).toString('base64url');

  const authorize = new URL(discovery.authorization_endpoint);
  authorize.searchParams.set('client_id', clientId);
  authorize.searchParams.set('response_type', 'code');
  authorize.searchParams.set('redirect_uri', redirectUri);
  authorize.searchParams.set('scope', scope);
  authorize.searchParams.set('state', state);
  if (nonce !== undefined) {
    authorize.searchParams.set('nonce', nonce);
  }

  let response = await send(jar, authorize.href);
  let code;
  for (let step = 0; step < MAX_STEPS && code === undefined; step += 1) {
    const location = response.headers.get('location');
    if (!location) {
      const text = await response.text();
      throw new Error(`expected a redirect, got HTTP ${response.status}: ${text.slice(0, 300)}`);
    }
    const next = new URL(location, response.url || issuer);

    if (next.href.startsWith(redirectUri)) {
      const error = next.searchParams.get('error');
      if (error) {
        throw new Error(`authorization failed: ${error} ${next.searchParams.get('error_description') ?? ''}`);
      }
      if (next.searchParams.get('state') !== state) {
        throw new Error('state mismatch in the authorization response');
      }
      code = next.searchParams.get('code');
    } else if (next.pathname.startsWith('/interaction/')) {
      const prompt = await interactionPrompt(jar, next.href);
      const form = prompt === 'login'
        ? { prompt, login, password: 'any' }
        : { prompt };
      response = await send(jar, next.href, { method: 'POST', form });
    } else {
      response = await send(jar, next.href);
    }
  }
  if (!code) {
    throw new Error(`no authorization code after ${MAX_STEPS} redirects`);
  }

  const tokenResponse = await fetch(discovery.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
      client_id: clientId,
      client_secret: clientSecret,
    }).toString(),
  });
  const tokens = await tokenResponse.json();
  if (!tokenResponse.ok) {
    throw new Error(`token request failed: HTTP ${tokenResponse.status} ${JSON.stringify(tokens)}`);
  }
  return tokens;
}
