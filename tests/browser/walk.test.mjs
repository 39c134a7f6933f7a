// The console as a demanding user walks it: for each role (ministry, province, district,
// commune, auditor) sign in and follow every link of the console a page offers (one page per
// shape of path, so a thousand persons are one visit), in Vietnamese at 390 px. Every page
// reached by a link opens (no 403, 404 or 500 behind a link), scrolls no wider than the phone,
// and shows no English word, raw code or untranslated key. Screenshots of the first pages of
// each role, at 390 px and at 1280 px, go to tests/browser/screenshots/walk-*.png.
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

const ROLES = ['ministry', 'province', 'district', 'commune', 'auditor'];
// Pages per role; the shapes of the console's paths are fewer than this.
const LIMIT = Number(process.env.EID_WALK_LIMIT ?? 90);

// What must not show on a Vietnamese page: English words of the interface, raw values and
// codes, actors as ids, and the mark of a missing translation.
const ENGLISH = [
  /\?\?/,
  /\bstaff:\s?\d/,
  /\bcli:/,
  /\bsex: [MF]\b/,
  /\b(alive|deceased|dead|missing|male|female)\b/i,
  /\b(pending|approved|rejected|active|locked|suspended|revoked|disabled|expired|closed|open|draft)\b/,
  /\b(on_track|at_risk|behind|met|missed|capacity_short)\b/,
  /\b(the|of|and|with|from|not|no|for|by|this|that|is|are|was|has)\b/i,
  /\b(error|not found|forbidden|denied|please|search|name|date|status|quota|split|person|account|unit|total|page|next|previous|save|cancel|edit|export|print|none)\b/i,
  /\b[a-z]+_[a-z_]+\b/,              // snake_case: a raw key or enum value
  /\b[a-z]+\.[a-z_]+(\.[a-z_]+)*\b/, // dotted: a raw code (person.read, ops.quota)
  /\b\d{4}-\d{2}-\d{2}\b/,          // an ISO day: Vietnamese writes dd/mm/yyyy
  /(?<![\d.,])\d+\.\d{1,2}(?![\d.,])/, // a decimal point: Vietnamese writes 0,96
];

// Text that may hold those legitimately: addresses of the web, e-mail, file names.
function scrub(text) {
  return text
    .replace(/https?:\/\/\S+/g, ' ')
    .replace(/\S+@\S+/g, ' ')
    .replace(/\([a-z][a-z0-9]*\.[a-z0-9.]+\)/g, ' ') // a username beside a name: (bo.congan)
    .replace(/\b[\w-]+\.(csv|xlsx|png|json|txt)\b/gi, ' ')
    .replace(/\b(eID|eid|CSV|XLSX|SMS|OpenID|OIDC|SHA-256|JWKS|PDF|ID|Zalo|Email)\b/g, ' ');
}

let server, browser, base, dir;
const accounts = {};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-walk-'));
  server = spawn(bin, ['--db', `sqlite://${join(dir, 'eid.db')}`, '--listen', '127.0.0.1:0', 'demo', '--people', '3000', '--seed', '11', '--history-days', '10'], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${out}`)), 180_000);
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
    const m = line.match(/^(\S+)\s+(ministry|province|district|commune|auditor)\s+.*\s(\S+)$/);
    if (m) accounts[m[2]] = { username: m[1], password: m[3] };
  }
  for (const r of ROLES) assert.ok(accounts[r], `credentials of ${r} printed:\n${out}`);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  server?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function signIn(page, role) {
  await page.goto(base + '/login');
  await page.fill('input[name=username]', accounts[role].username);
  await page.fill('input[name=password]', accounts[role].password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

// One visit per shape: numbers and codes in the path become '#', the query's values are
// dropped (a second sort or page of the same table is the same shape).
function shape(url) {
  const u = new URL(url);
  const path = u.pathname.replace(/\/\d+(?=\/|$)/g, '/#').replace(/\/[A-Za-z0-9_-]*\d[A-Za-z0-9_-]*(?=\/|$)/g, '/#');
  const keys = [...u.searchParams.keys()].sort().join('&');
  return `${path}?${keys}`;
}

function followable(url) {
  const u = new URL(url);
  if (u.origin !== base) return false;
  if (/^\/(logout|lang\/|static\/|api\/|me(\/|$)|demo\/|oidc|\.well-known|authorize|token|jwks)/.test(u.pathname.slice(0) + '/')) return false;
  if (/\.(csv|xlsx|json)$/.test(u.pathname)) return false;
  // An export asked for by a parameter is a download, not a page.
  if (/^(csv|xlsx|json)$/.test(u.searchParams.get('format') ?? '')) return false;
  return true;
}

for (const role of ROLES) {
  test(`${role}: every console page opens, fits 390 px and speaks Vietnamese`, async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await context.newPage();
    await signIn(page, role);
    const queue = [page.url(), base + '/'];
    const seen = new Set();
    const problems = [];
    let visited = 0;
    while (queue.length && visited < LIMIT) {
      const url = queue.shift();
      const key = shape(url);
      if (seen.has(key)) continue;
      seen.add(key);
      const response = await page.goto(url);
      visited += 1;
      const status = response?.status() ?? 0;
      const where = new URL(url).pathname + new URL(url).search;
      if (status !== 200) problems.push(`${where}: status ${status}`);
      if ((await page.getAttribute('html', 'lang')) !== 'vi') problems.push(`${where}: not Vietnamese`);
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      if (wide > 390) problems.push(`${where}: ${wide} px wide at 390 px`);
      // Literal codes (a file's header, a configuration key, an error's code) are set in
      // <code> and are not words of the page.
      const text = scrub(await page.evaluate(() => {
        let t = document.body.innerText;
        for (const c of document.querySelectorAll('code, kbd, samp')) t = t.split(c.innerText).join(' ');
        return t;
      }));
      for (const re of ENGLISH) {
        const m = text.match(re);
        if (m) {
          const at = text.indexOf(m[0]);
          problems.push(`${where}: "${m[0]}" in …${text.slice(Math.max(0, at - 40), at + 40).replace(/\s+/g, ' ')}…`);
        }
      }
      if (visited <= 6) {
        const name = `walk-${role}-${visited}`;
        await page.screenshot({ path: join(shots, `${name}-390.png`), fullPage: true });
        await page.setViewportSize({ width: 1280, height: 900 });
        await page.screenshot({ path: join(shots, `${name}-1280.png`), fullPage: true });
        await page.setViewportSize({ width: 390, height: 844 });
      }
      const links = await page.evaluate(() => [...document.querySelectorAll('a[href]')].map((a) => a.href));
      for (const link of links) {
        const clean = link.split('#')[0];
        if (followable(clean) && !seen.has(shape(clean))) queue.push(clean);
      }
    }
    await context.close();
    assert.ok(visited >= (role === 'auditor' ? 2 : 8), `${role} walked only ${visited} pages`);
    assert.deepEqual(problems, [], `${role} walked ${visited} pages:\n${problems.join('\n')}`);
  });
}

async function phone(role) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await signIn(page, role);
  return { context, page };
}

async function fits(page, what) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= 390, `${what}: ${wide} px wide at 390 px`);
}

test('the auditor filters the audit log by actor and days, pages it and exports it as CSV', async () => {
  const { context, page } = await phone('auditor');
  await page.goto(base + '/audit');
  assert.ok((await page.locator('table.audit-log tbody tr').count()) > 0, 'the log has entries');
  const all = await page.textContent('main');
  assert.doesNotMatch(all, /staff:\d|cli:/, 'actors by name');
  assert.match(all, /Hệ thống \(demo\)/);
  // Everything the province officer did, today, written as Vietnamese writes days.
  const today = await page.evaluate(() => {
    const d = new Date(Date.now() + 7 * 3600 * 1000);
    return `${String(d.getUTCDate()).padStart(2, '0')}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${d.getUTCFullYear()}`;
  });
  await page.fill('input[name=actor]', accounts.province.username);
  await page.fill('input[name=from]', today);
  await page.fill('input[name=to]', today);
  await Promise.all([page.waitForNavigation(), page.click('form.filters button[type=submit]')]);
  const actors = await page.locator('table.audit-log tbody tr td:nth-child(2)').allTextContents();
  assert.ok(actors.length > 0, 'the province officer walked the console today');
  for (const a of actors) assert.ok(a.includes(`(${accounts.province.username})`), a);
  await fits(page, '/audit filtered');
  await page.screenshot({ path: join(shots, 'walk-audit-filtered-390.png'), fullPage: true });
  // A day before the first is refused in Vietnamese.
  await page.goto(base + '/audit?from=05/12/2026&to=01/12/2026');
  assert.match(await page.textContent('main'), /Ngày cuối đứng trước ngày đầu/);
  // Pages of 100: the older page starts where the first ended (each read of the log is an
  // entry of its own, so 101 reads make sure of a second page).
  for (let i = 0; i < 101; i++) await page.request.get(base + '/audit?action=none');
  await page.goto(base + '/audit');
  const older = page.locator('p.pager a', { hasText: 'Cũ hơn' });
  assert.equal(await older.count(), 1, 'more than 100 entries after the walks: a next page');
  const firstPage = await page.locator('table.audit-log tbody tr td:last-child').allTextContents();
  await Promise.all([page.waitForNavigation(), older.click()]);
  const secondPage = await page.locator('table.audit-log tbody tr td:last-child').allTextContents();
  assert.ok(secondPage.length > 0 && !secondPage.some((r) => firstPage.includes(r) && r !== secondPage[0]), 'the older page holds other entries');
  // The export takes the same filter.
  const response = await page.request.get(base + `/audit.csv?actor=${accounts.province.username}`);
  assert.equal(response.status(), 200);
  assert.match(response.headers()['content-type'], /text\/csv/);
  const csv = await response.text();
  const lines = csv.trim().split('\r\n');
  assert.match(lines[0], /Thời gian,Người thực hiện/);
  assert.ok(lines.length > 1);
  for (const l of lines.slice(1)) assert.match(l, new RegExp(`\\(${accounts.province.username.replace('.', '\\.')}\\)`));
  assert.match(lines[1], /^\d{2}\/\d{2}\/\d{4} \d{2}:\d{2},/, 'times dd/mm/yyyy hh:mm');
  await context.close();
});

test('a commune officer: a typed personal ID opens the person, no dead account link, a saved correction says so', async () => {
  const { context, page } = await phone('commune');
  await page.goto(base + '/search?name=nguyen');
  const href = await page.locator('table tbody tr a[href^="/persons/"]').first().getAttribute('href');
  const id = href.split('/').pop();
  await page.goto(base + '/search');
  await page.fill('input[name=name]', id);
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  assert.equal(new URL(page.url()).pathname, `/persons/${id}`);
  // The account button leads somewhere, or the page says there is no account.
  const account = page.locator(`a[href="/accounts/${id}"]`);
  if (await account.count()) {
    const r = await page.request.get(base + `/accounts/${id}`);
    assert.equal(r.status(), 200);
  } else {
    assert.match(await page.textContent('main'), /chưa có tài khoản/);
  }
  // A correction saved shows a success message once.
  await page.goto(base + `/persons/${id}/edit`);
  await page.fill('textarea[name=reason], input[name=reason]', 'Kiểm tra lại địa chỉ theo sổ hộ khẩu');
  await page.fill('input[name=address]', 'Số 2, Tổ 1');
  await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
  assert.equal(new URL(page.url()).pathname, `/persons/${id}`);
  assert.match(await page.textContent('main'), /Đã lưu thay đổi hồ sơ/);
  await fits(page, 'the person after saving');
  await page.screenshot({ path: join(shots, 'walk-person-saved-390.png'), fullPage: true });
  await page.reload();
  assert.doesNotMatch(await page.textContent('main'), /Đã lưu thay đổi hồ sơ/, 'the message shows once');
  // An error page keeps the navigation, and every page starts with a skip link.
  const refused = await page.goto(base + '/audit');
  assert.equal(refused.status(), 403);
  assert.ok((await page.locator('nav.sidenav a[href="/search"]').count()) === 1, 'the error page keeps the menu');
  assert.equal(await page.locator('a.skip[href="#content"]').count(), 1);
  await context.close();
});

test('outreach: the true total, pages of 100, everyone across pages, addresses in natural order', async () => {
  const { context, page } = await phone('district');
  await page.goto(base + '/ops/outreach');
  const commune = await page.locator('select[name=commune] option[value]:not([value=""])').first().getAttribute('value');
  await page.goto(base + `/ops/outreach?commune=${commune}&missing=no_application`);
  const count = await page.textContent('.list-head .count');
  const total = Number(count.match(/^\s*([\d.]+)/)[1].replace(/\./g, ''));
  const csv = await (await page.request.get(base + `/ops/outreach.csv?commune=${commune}&missing=no_application`)).text();
  assert.equal(csv.trim().split('\n').length - 1, total, 'the total is the export\'s row count');
  assert.doesNotMatch(count, /chỉ hiện/);
  const rows = await page.locator('table.outreach tbody tr').count();
  assert.equal(rows, Math.min(total, 100));
  const number = (a) => Number((a.match(/\d+/) ?? ['0'])[0]);
  const addresses = await page.locator('table.outreach tbody tr td:nth-child(4)').allTextContents();
  for (let i = 1; i < addresses.length; i++) {
    const [a, b] = [addresses[i - 1], addresses[i]];
    if (a.replace(/\d+/g, '#') === b.replace(/\d+/g, '#')) assert.ok(number(a) <= number(b), `${a} before ${b}`);
  }
  if (total > 100) {
    assert.equal(await page.locator('input[name=all][value="1"]').count(), 1, 'everyone across pages can be picked');
    await Promise.all([page.waitForNavigation(), page.locator('nav.pager a', { hasText: 'Trang sau' }).click()]);
    assert.match(await page.textContent('nav.pager'), /Trang 2\//);
  }
  // Sorted on the server by a header link: by birth, the days come in order.
  await page.goto(base + `/ops/outreach?commune=${commune}&missing=no_application`);
  await Promise.all([page.waitForNavigation(), page.locator('table.outreach thead a', { hasText: 'Ngày sinh' }).click()]);
  assert.match(page.url(), /sort=birth/);
  const births = (await page.locator('table.outreach tbody tr td:nth-child(3)').allTextContents())
    .map((d) => d.trim().split('/').reverse().join('-'));
  assert.deepEqual(births, [...births].sort(), 'sorted by birth');
  assert.equal(await page.locator('th[aria-sort] a', { hasText: 'Ngày sinh' }).count(), 1);
  await fits(page, 'outreach');
  await page.screenshot({ path: join(shots, 'walk-outreach-390.png'), fullPage: false });
  await context.close();
});
