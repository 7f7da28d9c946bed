// Local OpenID Connect issuer for the cloudauth tests.
//
// It runs panva's oidc-provider on 127.0.0.1 and shapes its tokens like
// Auth0 tokens: issuer with a trailing slash, keys at /.well-known/jwks.json,
// RS256 access tokens (JWT, not opaque) for API identifiers, with `scope`,
// `permissions`, `azp` and `gty` claims. See README.md for the contract.
//
// Usage: node server.mjs --port PORT [--access-token-typ JWT]
// PORT 0 picks a free port. When the server is ready it prints one JSON line
// on stdout; everything else goes to stderr.

import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

import { getIdToken } from './flow.mjs';

// oidc-provider prints its notices with console.info, which writes to stdout.
// Send them to stderr so that stdout carries only the ready line.
console.info = (...args) => console.error(...args);

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'access-token-typ': { type: 'string', default: 'JWT' },
  },
});

const port = Number.parseInt(args.port, 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`invalid --port value: ${args.port} (expected 0 to 65535, 0 picks a free port)`);
  process.exit(2);
}

// API identifiers (Auth0 "APIs", OAuth resource indicators) and the
// permissions each one defines.
const API_1 = 'https://api.example.test';
const API_2 = 'https://other-api.example.test';
const APIS = {
  [API_1]: ['read:users', 'write:users'],
  [API_2]: ['read:reports'],
};

// Test-only clients. The secrets are fixed so that tests can also hard-code
// them. They protect nothing.
const CLIENTS = {
  m2m_a: { id: 'cloudauth-m2m-a', secret: 'cloudauth-m2m-a-secret' },
  m2m_b: { id: 'cloudauth-m2m-b', secret: 'cloudauth-m2m-b-secret' },
  m2m_expired: { id: 'cloudauth-m2m-expired', secret: 'cloudauth-m2m-expired-secret' },
  app: { id: 'cloudauth-app', secret: 'cloudauth-app-secret' },
};

// Which permissions each machine-to-machine client was granted on each API,
// like Auth0's client grants. A token request from a client with no entry
// for an API gets the error `invalid_target`.
const CLIENT_GRANTS = {
  [CLIENTS.m2m_a.id]: {
    [API_1]: ['read:users', 'write:users'],
    [API_2]: ['read:reports'],
  },
  [CLIENTS.m2m_b.id]: {
    [API_1]: ['read:users'],
  },
  [CLIENTS.m2m_expired.id]: {
    [API_1]: ['read:users', 'write:users'],
  },
};

// Tokens for this client are signed with `iat` two hours ago and `exp` one
// hour ago, so that tests get a correctly signed but expired token at once.
const EXPIRED_CLIENT = CLIENTS.m2m_expired.id;

const ACCESS_TOKEN_TTL = 3600;

// One RSA 2048 signing key, made fresh at every start. The `kid` is the
// RFC 7638 thumbprint of the public key.
function makeSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const thumbprintInput = JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n });
  const kid = crypto.createHash('sha256').update(thumbprintInput).digest('base64url');
  return { ...jwk, kid, alg: 'RS256', use: 'sig' };
}

// Make the access token JWT look like one from Auth0. oidc-provider calls
// this before it signs a JWT access token.
async function shapeAccessToken(ctx, token, jwt) {
  const { payload } = jwt;
  const clientId = token.clientId;

  // Auth0 access tokens have `typ: JWT`, while oidc-provider's own default
  // is `at+jwt` (RFC 9068). The --access-token-typ option sets the value.
  jwt.header = { typ: args['access-token-typ'] };

  payload.azp = clientId;

  if (token.kind === 'ClientCredentials') {
    payload.sub = `${clientId}@clients`;
    payload.gty = 'client-credentials';

    // Auth0 grants every permission the client has on the API when the
    // request names no scope. oidc-provider would grant none.
    const requestedScope = ctx?.oidc?.params?.scope;
    const granted = CLIENT_GRANTS[clientId]?.[token.resourceServer?.identifier()];
    if (requestedScope === undefined && granted) {
      payload.scope = granted.join(' ');
    }
  }

  payload.permissions = payload.scope ? payload.scope.split(' ') : [];

  if (clientId === EXPIRED_CLIENT) {
    const now = Math.floor(Date.now() / 1000);
    payload.iat = now - 2 * ACCESS_TOKEN_TTL;
    payload.exp = now - ACCESS_TOKEN_TTL;
  }
}

async function getResourceServerInfo(ctx, resourceIndicator, client) {
  if (!APIS[resourceIndicator]) {
    throw new errors.InvalidTarget(`unknown API identifier: ${resourceIndicator}`);
  }
  const granted = CLIENT_GRANTS[client.clientId]?.[resourceIndicator];
  if (!granted) {
    throw new errors.InvalidTarget(`client ${client.clientId} has no grant for ${resourceIndicator}`);
  }
  return {
    audience: resourceIndicator,
    // oidc-provider keeps only the requested scopes found in this list, so a
    // client never gets a permission it was not granted.
    scope: granted.join(' '),
    accessTokenFormat: 'jwt',
    accessTokenTTL: ACCESS_TOKEN_TTL,
    jwt: { sign: { alg: 'RS256' } },
  };
}

function machineClient({ id, secret }) {
  return {
    client_id: id,
    client_secret: secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_post',
  };
}

// Start listening first, so that PORT 0 resolves to a real port before the
// issuer URL is fixed.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, '127.0.0.1', resolve);
});
const actualPort = server.address().port;
const issuer = `http://127.0.0.1:${actualPort}/`;
const redirectUri = `${issuer}callback`;

const provider = new Provider(issuer, {
  clients: [
    machineClient(CLIENTS.m2m_a),
    machineClient(CLIENTS.m2m_b),
    machineClient(CLIENTS.m2m_expired),
    {
      client_id: CLIENTS.app.id,
      client_secret: CLIENTS.app.secret,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'client_secret_post',
      id_token_signed_response_alg: 'RS256',
    },
  ],
  jwks: { keys: [makeSigningKey()] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  // Every account id exists; the login form accepts any id and password.
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub };
      },
    };
  },
  // Auth0's endpoint paths.
  routes: {
    authorization: '/authorize',
    token: '/oauth/token',
    userinfo: '/userinfo',
    jwks: '/.well-known/jwks.json',
    revocation: '/oauth/revoke',
    end_session: '/oidc/logout',
  },
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      getResourceServerInfo,
    },
  },
  formats: {
    customizers: { jwt: shapeAccessToken },
  },
  ttl: {
    AccessToken: ACCESS_TOKEN_TTL,
    ClientCredentials: ACCESS_TOKEN_TTL,
    IdToken: 3600,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
});

const endpoints = {
  discovery: new URL('.well-known/openid-configuration', issuer).href,
  jwks_uri: provider.urlFor('jwks'),
  token_endpoint: provider.urlFor('token'),
  authorization_endpoint: provider.urlFor('authorization'),
};

const readyInfo = {
  ready: true,
  issuer,
  ...endpoints,
  apis: { api_1: API_1, api_2: API_2 },
  clients: {
    m2m_a: { client_id: CLIENTS.m2m_a.id, client_secret: CLIENTS.m2m_a.secret, grants: CLIENT_GRANTS[CLIENTS.m2m_a.id] },
    m2m_b: { client_id: CLIENTS.m2m_b.id, client_secret: CLIENTS.m2m_b.secret, grants: CLIENT_GRANTS[CLIENTS.m2m_b.id] },
    m2m_expired: { client_id: CLIENTS.m2m_expired.id, client_secret: CLIENTS.m2m_expired.secret, grants: CLIENT_GRANTS[CLIENTS.m2m_expired.id] },
    app: { client_id: CLIENTS.app.id, client_secret: CLIENTS.app.secret, redirect_uri: redirectUri },
  },
  test_routes: {
    config: `${issuer}test/config`,
    id_token: `${issuer}test/id-token`,
  },
  pid: process.pid,
};

function sendJson(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

// Routes for tests only, outside oidc-provider:
//   GET /test/config                     the ready line again
//   GET /test/id-token?nonce=N&login=ID  runs the authorization code flow
//                                        against this server over HTTP and
//                                        returns the token response
async function handleTestRoute(req, res, url) {
  if (req.method !== 'GET') {
    sendJson(res, 405, { error: 'method_not_allowed' });
    return;
  }
  if (url.pathname === '/test/config') {
    sendJson(res, 200, readyInfo);
    return;
  }
  if (url.pathname === '/test/id-token') {
    try {
      const tokens = await getIdToken({
        issuer,
        clientId: CLIENTS.app.id,
        clientSecret: CLIENTS.app.secret,
        redirectUri,
        nonce: url.searchParams.get('nonce') ?? undefined,
        login: url.searchParams.get('login') ?? 'auth0|cloudauth-test-user',
        scope: url.searchParams.get('scope') ?? 'openid',
      });
      sendJson(res, 200, tokens);
    } catch (err) {
      console.error(`GET /test/id-token failed: ${err?.message ?? err}`);
      sendJson(res, 502, { error: 'flow_failed', error_description: String(err?.message ?? err) });
    }
    return;
  }
  sendJson(res, 404, { error: 'not_found' });
}

const providerCallback = provider.callback();
server.on('request', (req, res) => {
  const url = new URL(req.url, issuer);
  if (url.pathname.startsWith('/test/')) {
    handleTestRoute(req, res, url);
    return;
  }
  providerCallback(req, res);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeAllConnections();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

process.stdout.write(`${JSON.stringify(readyInfo)}\n`);
