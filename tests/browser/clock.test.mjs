// The console at a fixed date: `eid demo --clock-at` (development only) starts the server's clock
// at 15 March 2025, 09:00 in Vietnam, and it runs on from there. The demo's campaign history ends
// on that day, the operations dashboard is "as of" that day, and what the auditor reads was
// stamped on it — at desktop width and at 390 px.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.EID_BIN ?? join(here, '../../target/debug/eid');
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

const AT = '2025-03-15T09:00:00+07:00';
let server, browser, base, dir, out = '';
const accounts = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-browser-clock-'));
  const db = `sqlite://${join(dir, 'eid.db')}`;
  server = spawn(bin, ['--db', db, '--listen', '127.0.0.1:0', '--clock-at', AT, 'demo', '--people', '3000', '--history-days', '10'], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${out}`)), 120_000);
    const onData = (chunk) => {
      out += chunk.toString();
      const m = out.match(/eid listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    };
    server.stdout.on('data', onData);
    server.stderr.on('data', onData);
    server.on('exit', (code) => reject(new Error(`demo exited with ${code}:\n${out}`)));
  });
  for (const line of out.split('\n')) {
    const m = line.match(/^(\S+)\s+(ministry|province|district|commune|auditor)\s+(.*?)\s+(\S+)$/);
    if (m) accounts[m[2]] = { username: m[1], password: m[4] };
  }
  assert.ok(accounts.province && accounts.auditor, `credentials printed:\n${out}`);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--lang=vi-VN'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signIn(page, role) {
  await page.goto(base + '/');
  await page.fill('input[name=username]', accounts[role].username);
  await page.fill('input[name=password]', accounts[role].password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

test('the demo history ends on the fixed day', () => {
  assert.match(out, /2025-03-13 – 2025-03-15/, 'the last week of the history ends on 15 March 2025');
  assert.doesNotMatch(out, /2026-\d\d-\d\d –/, 'no week of the history is in the real present');
});

for (const [width, name] of [[1280, 'desktop'], [390, 'phone']]) {
  test(`the console reads the fixed day (${name})`, async () => {
    const page = await browser.newPage({ locale: 'vi-VN', viewport: { width, height: 900 } });
    await signIn(page, 'province');
    await page.goto(base + '/ops');
    // The dashboard is "as of" today by the server's clock: the date field holds the fixed day.
    assert.equal(await page.inputValue('form.asof input[name=as_of]'), '2025-03-15');
    await page.screenshot({ path: join(shots, `clock-ops-${name}.png`), fullPage: true });
    await page.close();

    const audit = await browser.newPage({ locale: 'vi-VN', viewport: { width, height: 900 } });
    await signIn(audit, 'auditor');
    await audit.goto(base + '/audit');
    const text = await audit.textContent('main');
    // The province officer's sign-in above was stamped on the fixed day and time (the audit
    // page writes timestamps the Vietnamese way, dd/mm/yyyy hh:mm).
    assert.match(text, /15\/03\/2025 09:0\d/);
    assert.doesNotMatch(text, /\d\d\/\d\d\/2026 \d\d:\d\d/);
    const scroll = await audit.evaluate(() => document.documentElement.scrollWidth);
    if (width === 390) assert.ok(scroll <= 420, `the audit page fits a phone (${scroll} px)`);
    await audit.screenshot({ path: join(shots, `clock-audit-${name}.png`), fullPage: true });
    await audit.close();
  });
}
