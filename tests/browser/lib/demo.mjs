// What the browser tests share: an `eid demo` on a temporary SQLite database and port 0, its
// printed staff credentials, a bearer token for the API, the development SMS outbox, the demo
// commune's people, and Debian's chromium (never a downloaded browser).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const bin = process.env.EID_BIN ?? join(here, '../../../target/debug/eid');
export const shots = join(here, '..', 'screenshots');
mkdirSync(shots, { recursive: true });

/** One browser from one address walks every form: the per-source limits (4 secret checks at
 * once, 3 SMS) would stop it half-way, as they should stop a real single address. */
export const WIDE_LIMITS = '[limits]\nsource_secret_burst = 1000\nsource_secret_per_hour = 100000\n'
  + 'source_sms_burst = 1000\nsource_sms_per_hour = 100000\n';

/**
 * Starts `eid demo` with `demoArgs` (after `demo`) and resolves once it listens and `ready`
 * (a pattern of its output, if given) has been printed. Returns the server, its base URL, the
 * temporary directory and database, everything it printed and the staff credentials by role.
 */
export async function startDemo({ label, demoArgs, globalArgs = [], ready = null, timeoutMs = 120_000 }) {
  const dir = mkdtempSync(join(tmpdir(), `eid-browser-${label}-`));
  const db = `sqlite://${join(dir, 'eid.db')}`;
  const config = join(dir, 'eid.toml');
  writeFileSync(config, WIDE_LIMITS);
  const server = spawn(bin, ['--config', config, '--db', db, '--listen', '127.0.0.1:0', ...globalArgs, 'demo', ...demoArgs], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${out}`)), timeoutMs);
    const onData = (chunk) => {
      out += chunk.toString();
      const m = out.match(/eid listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m && (!ready || ready.test(out))) { clearTimeout(timer); resolve(m[1]); }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.on('exit', (code) => reject(new Error(`demo exited with ${code}:\n${out}`)));
  });
  const accounts = {};
  for (const line of out.split('\n')) {
    const m = line.match(/^(\S+)\s+(ministry|province|district|commune|auditor)\s+.*\s(\S+)$/);
    if (m) accounts[m[2]] = { username: m[1], password: m[3] };
  }
  assert.ok(accounts.ministry && accounts.commune, `credentials printed:\n${out}`);
  return { server, base, dir, db, out, accounts };
}

/** Stops what [`startDemo`] and [`launchChromium`] started. */
export async function stopDemo(demo, browser) {
  await browser?.close();
  demo?.server?.kill('SIGTERM');
  if (demo?.dir) rmSync(demo.dir, { recursive: true, force: true });
}

/** A bearer token for `username`, issued with the CLI on the demo's database. */
export function issueToken(demo, username, name) {
  const issued = spawnSync(bin, ['--db', demo.db, 'admin', 'issue-token', '--username', username, '--name', name], { encoding: 'utf8' });
  assert.equal(issued.status, 0, issued.stderr);
  return issued.stdout.trim().split('\n').pop().trim();
}

/** A JSON API caller on the demo, with `token` unless another bearer is given. */
export function apiOf(demo, token) {
  return async function api(method, path, body, bearer = token) {
    const res = await fetch(demo.base + path, {
      method,
      headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json;
    try { json = JSON.parse(text); } catch { json = text; }
    return { status: res.status, body: json };
  };
}

/** The newest code sent to `phone` (national form) for `purpose`, from the development outbox. */
export async function smsCode(api, phone, purpose) {
  for (let i = 0; i < 100; i += 1) {
    const sms = await api('GET', '/api/v1/sms?limit=200');
    const msg = sms.body.messages.find((m) => m.purpose === purpose && m.to.endsWith(phone.replace(/^0/, '')));
    const code = msg?.body.match(/\b(\d{6})\b/)?.[1];
    if (code) return code;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${purpose} code for the phone`);
}

/** People of `commune` found through the search API who pass `keep`, each once. */
export async function communePeople(api, commune, keep) {
  const found = [];
  for (const name of ['nguyen', 'tran', 'le', 'pham', 'hoang', 'vu', 'dang']) {
    const r = await api('GET', `/api/v1/persons?name=${name}&unit=${commune}&limit=50`);
    if (r.status !== 200) continue;
    for (const p of r.body.persons) {
      if (keep(p) && !found.some((q) => q.personal_id === p.personal_id)) found.push(p);
    }
  }
  return found;
}

/** An adult (`minAge`) of the demo, alive, with a valid card and a phone. */
export function adult(minAge, cardFrom = null) {
  const thisYear = new Date().getFullYear();
  return (p) => p.life_status.state === 'alive' && p.card?.valid && p.phone
    && (!cardFrom || p.card.issued >= cardFrom)
    && thisYear - Number(p.birth_date.slice(0, 4)) >= minAge;
}

/** Debian's chromium, headless, with the flags the project's rules name. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
