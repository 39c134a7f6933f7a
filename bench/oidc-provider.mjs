// The baseline of bench/oidc-token.sh: npm `oidc-provider` (OpenID-certified, node) configured
// as eid's provider is for the bench: ES256 ID tokens, the same lifetimes (code 60 s, access token
// and ID token 10 min, refresh token 30 days, rotated on use), one confidential client
// authenticating with client_secret_basic, PKCE S256 required, the in-memory adapter.
//
// Usage: node oidc-provider.mjs PORT CODES OUT_FILE
// Mints CODES authorization codes in-process (as a finished sign-in and consent would leave
// them: a grant per code, the challenge of the verifier below), writes them one a line to
// OUT_FILE, then serves on 127.0.0.1:PORT and prints "listening" when ready. Minting is not
// measured; only the token endpoint is.
import { writeFileSync } from 'node:fs';
import { generateKeyPairSync, createHash } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, codes, out] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const issuer = `http://127.0.0.1:${port}`;
const VERIFIER = 'bench-verifier-0123456789-0123456789-0123456789-abcdef';
const challenge = createHash('sha256').update(VERIFIER).digest('base64url');
const redirectUri = 'http://127.0.0.1/bench/callback';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', use: 'sig', alg: 'ES256' };

// Storage: a plain Map (the bundled development adapter is an LRU of 1,000 entries, which would
// drop minted codes). Everything in memory: no durable write, unlike eid.
const store = new Map();
class MapAdapter {
  constructor(model) { this.model = model; }
  key(id) { return `${this.model}:${id}`; }
  async upsert(id, payload) {
    store.set(this.key(id), payload);
    if (payload.grantId) {
      const k = `grant:${payload.grantId}`;
      store.set(k, [...(store.get(k) ?? []), this.key(id)]);
    }
  }
  async find(id) { return store.get(this.key(id)); }
  async findByUid(uid) { return [...store.values()].find((p) => p.uid === uid); }
  async findByUserCode() { return undefined; }
  async consume(id) { const p = store.get(this.key(id)); if (p) p.consumed = Math.floor(Date.now() / 1000); }
  async destroy(id) { store.delete(this.key(id)); }
  async revokeByGrantId(grantId) {
    for (const k of store.get(`grant:${grantId}`) ?? []) store.delete(k);
    store.delete(`grant:${grantId}`);
  }
}

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients: [{
    client_id: 'bench',
    client_secret: 'bench-secret-0123456789',
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] },
  ttl: { AuthorizationCode: 60, AccessToken: 600, IdToken: 600, RefreshToken: 30 * 86400, Grant: 30 * 86400 },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  issueRefreshToken: async () => true,
  features: { devInteractions: { enabled: false } },
  claims: { openid: ['sub'], profile: ['name', 'birthdate', 'gender'] },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({ sub: id, name: 'Nguyễn Văn An', birthdate: '1990-01-01', gender: 'male' }),
  }),
});
provider.proxy = false;

const client = await provider.Client.find('bench');
const lines = [];
const authTime = Math.floor(Date.now() / 1000);
for (let i = 0; i < codes; i += 1) {
  const accountId = `citizen-${i % 1000}`;
  const grant = new provider.Grant({ accountId, clientId: 'bench' });
  grant.addOIDCScope('openid profile');
  const grantId = await grant.save();
  const code = new provider.AuthorizationCode({
    accountId,
    client,
    grantId,
    scope: 'openid profile',
    redirectUri,
    codeChallenge: challenge,
    codeChallengeMethod: 'S256',
    nonce: `n-${i}`,
    authTime,
    acr: 'urn:eid:loa:1',
    amr: ['pwd'],
    expiresWithSession: false,
    claims: {},
  });
  lines.push(await code.save());
}
writeFileSync(out, lines.join('\n') + '\n');
provider.listen(port, '127.0.0.1');
console.log('listening');
