// Gets one token from a running server.mjs over HTTP and prints it.
//
// Usage: node tokens.mjs --issuer http://127.0.0.1:PORT/ KIND [options]
//
// KIND is one of:
//   a-api1    access token for API 1, client A (read:users write:users)
//   b-api1    access token for API 1, client B (read:users)
//   a-api2    access token for API 2, client A (read:reports)
//   expired   access token for API 1 whose exp is one hour in the past
//   opaque    client A with no resource: oidc-provider returns an opaque token
//   id-token  ID token for the app client, from the authorization code flow
//
// Options:
//   --nonce N     nonce for the ID token (id-token only)
//   --login ID    account id to sign in as (id-token only)
//   --scope S     scope to request (access tokens: sent as is; default none)
//   --decode      print {"token", "header", "payload"} instead of the bare token

import { parseArgs } from 'node:util';

import { getIdToken } from './flow.mjs';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    issuer: { type: 'string' },
    nonce: { type: 'string' },
    login: { type: 'string', default: 'auth0|cloudauth-test-user' },
    scope: { type: 'string' },
    decode: { type: 'boolean', default: false },
  },
});

const kind = positionals[0];
if (!opts.issuer || !kind) {
  console.error('usage: node tokens.mjs --issuer http://127.0.0.1:PORT/ KIND [--nonce N] [--login ID] [--scope S] [--decode]');
  process.exit(2);
}

const configResponse = await fetch(new URL('test/config', opts.issuer));
if (!configResponse.ok) {
  console.error(`GET test/config failed: HTTP ${configResponse.status}`);
  process.exit(1);
}
const config = await configResponse.json();

async function clientCredentials(client, resource) {
  const form = {
    grant_type: 'client_credentials',
    client_id: client.client_id,
    client_secret: client.client_secret,
  };
  if (resource) form.resource = resource;
  if (opts.scope !== undefined) form.scope = opts.scope;

  const response = await fetch(config.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  const body = await response.json();
  if (!response.ok) {
    throw new Error(`token request failed: HTTP ${response.status} ${JSON.stringify(body)}`);
  }
  return body.access_token;
}

async function getToken() {
  const { clients, apis } = config;
  switch (kind) {
    case 'a-api1': return clientCredentials(clients.m2m_a, apis.api_1);
    case 'b-api1': return clientCredentials(clients.m2m_b, apis.api_1);
    case 'a-api2': return clientCredentials(clients.m2m_a, apis.api_2);
    case 'expired': return clientCredentials(clients.m2m_expired, apis.api_1);
    case 'opaque': return clientCredentials(clients.m2m_a, undefined);
    case 'id-token': {
      const tokens = await getIdToken({
        issuer: config.issuer,
        clientId: clients.app.client_id,
        clientSecret: clients.app.client_secret,
        redirectUri: clients.app.redirect_uri,
        nonce: opts.nonce,
        login: opts.login,
      });
      return tokens.id_token;
    }
    default:
      throw new Error(`invalid KIND: ${kind} (expected a-api1, b-api1, a-api2, expired, opaque or id-token)`);
  }
}

function decodePart(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

try {
  const token = await getToken();
  if (opts.decode) {
    const parts = token.split('.');
    const decoded = parts.length === 3
      ? { token, header: decodePart(parts[0]), payload: decodePart(parts[1]) }
      : { token, opaque: true };
    process.stdout.write(`${JSON.stringify(decoded, null, 2)}\n`);
  } else {
    process.stdout.write(`${token}\n`);
  }
} catch (err) {
  console.error(err.message);
  process.exit(1);
}
