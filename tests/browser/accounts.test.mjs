// The accounts pages of the console in a real browser: Debian's chromium driven by playwright-core.
// Starts `eid demo` (development mode) on a temporary SQLite database and port 0, issues API
// tokens for the district officer and the ministry officer with `eid admin issue-token`,
// registers an intake device and sends it signed application packets over the API (Ed25519 from
// node:crypto), activates one account with the code from the development SMS outbox (which only
// ministry-level staff read), then walks the officer's pages: the application queue, the review
// queue, an application rejected with a reason, the device registry with a suspension, the SMS
// outbox, and an account's page with its history and a lock.
// Screenshots go to tests/browser/screenshots/acc-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync, sign as edSign, randomBytes, createHash } from 'node:crypto';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const bin = process.env.EID_BIN ?? join(here, '../../target/debug/eid');
const shots = join(here, 'screenshots');
mkdirSync(shots, { recursive: true });

let server, browser, base, dir, db, token, ministryToken, commune, device;
const accounts = {};
/** Applications sent: { id, personalId, matched }. */
const sent = [];
/** The person whose level-2 account was activated. */
let holder;

const hex = (buf) => Buffer.from(buf).toString('hex');

async function api(method, path, body, bearer = token) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = text; }
  return { status: res.status, body: json };
}

/** An intake device's key: the public half as 64 hex digits for the registry. */
const { publicKey, privateKey } = generateKeyPairSync('ed25519');
const publicHex = hex(Buffer.from(publicKey.export({ format: 'jwk' }).x, 'base64url'));

/** Signs a packet as the device does (see crates/eid-core/src/intake.rs) and sends it. */
async function collect(person, matched) {
  const doc = {
    v: 1,
    device,
    personal_id: person.personal_id,
    phone: person.phone ?? '0912000111',
    portrait_sha256: createHash('sha256').update(`portrait ${person.personal_id}`).digest('hex'),
    match: { method: 'fingerprint', against: 'card', result: matched ? 'match' : 'no_match', score: matched ? 0.97 : 0.28 },
    officer: accounts.commune.username,
    collected_at: new Date().toISOString(),
    nonce: hex(randomBytes(16)),
  };
  const bytes = Buffer.from(JSON.stringify(doc));
  const signature = edSign(null, bytes, privateKey);
  return api('POST', '/api/v1/intake/applications', { packet: hex(bytes), signature: hex(signature) });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'eid-browser-acc-'));
  db = `sqlite://${join(dir, 'eid.db')}`;
  server = spawn(bin, ['--db', db, '--listen', '127.0.0.1:0', 'demo', '--people', '4000', '--seed', '11'], {
    env: { ...process.env, NO_COLOR: '1' },
  });
  let out = '';
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
    const m = line.match(/^(\S+)\s+(ministry|province|district|commune|auditor)\s+.*\s(\S+)$/);
    if (m) accounts[m[2]] = { username: m[1], password: m[3] };
  }
  assert.ok(accounts.commune && accounts.district, `credentials printed:\n${out}`);
  commune = accounts.commune.username.split('.').pop();

  // Bearer tokens for the district officer and for the ministry officer (who reads the outbox),
  // issued by the CLI on the same database.
  const issue = (role) => {
    const issued = spawnSync(bin, ['--db', db, 'admin', 'issue-token', '--username', accounts[role].username, '--name', `browser test ${role}`], { encoding: 'utf8' });
    assert.equal(issued.status, 0, issued.stderr);
    return issued.stdout.trim().split('\n').pop().trim();
  };
  token = issue('district');
  ministryToken = issue('ministry');

  const dev = await api('POST', '/api/v1/devices', { name: 'Máy thử nghiệm 01', unit: commune, public_key: publicHex, daily_capacity: 120 });
  assert.equal(dev.status, 201, JSON.stringify(dev.body));
  device = dev.body.device.id;

  // Adults of the commune with a valid card: three go through, three to review.
  const thisYear = new Date().getFullYear();
  const people = [];
  for (const name of ['nguyen', 'tran', 'le', 'pham', 'hoang']) {
    const r = await api('GET', `/api/v1/persons?name=${name}&unit=${commune}&limit=50`);
    if (r.status !== 200) continue;
    for (const p of r.body.persons) {
      const born = Number(p.birth_date.slice(0, 4));
      if (p.life_status.state === 'alive' && p.card?.valid && thisYear - born >= 16) people.push(p);
    }
  }
  for (const p of people) {
    const matched = sent.filter((s) => s.matched).length < 3;
    if (!matched && sent.length >= 6) break;
    const r = await collect(p, matched);
    if (r.status === 201) sent.push({ id: r.body.application.id, personalId: p.personal_id, matched, phone: p.phone });
  }
  assert.equal(sent.length, 6, `six applications collected from ${people.length} candidates`);

  // The first approved one is activated by the citizen with the SMS code.
  holder = sent.find((s) => s.matched && s.phone);
  assert.ok(holder, 'an approved applicant has a phone');
  let code;
  for (let i = 0; i < 100 && !code; i += 1) {
    const sms = await api('GET', '/api/v1/sms?limit=100', undefined, ministryToken);
    const msg = sms.body.messages.find((m) => m.purpose === 'activate' && m.to.endsWith(holder.phone.replace(/^0/, '')));
    code = msg?.body.match(/\b(\d{6})\b/)?.[1];
    if (!code) await new Promise((r) => setTimeout(r, 50));
  }
  assert.ok(code, 'the activation code is in the development outbox');
  const act = await api('POST', '/api/v1/app/activate', {
    personal_id: holder.personalId, code, password: 'Mật-khẩu-Mạnh-2026', passcode: '135790', device_id: 'browser-test-phone',
  });
  assert.equal(act.status, 200, JSON.stringify(act.body));

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
  await page.goto(base + '/');
  await page.fill('input[name=username]', accounts[role].username);
  await page.fill('input[name=password]', accounts[role].password);
  await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
}

test('the application queue lists the unit\'s applications and says which verifier and SMS sender run', async () => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await signIn(page, 'district');
  await Promise.all([page.waitForNavigation(), page.click('.sidenav a[href="/applications"]')]);
  // The demo's history is there too; ours are the newest, at the top.
  const ids = await page.locator('table.queue tbody tr td:first-child').allTextContents();
  assert.deepEqual(ids.slice(0, 6).map(Number), sent.map((s) => s.id).sort((a, b) => b - a));
  const text = await page.textContent('main');
  for (const s of sent) assert.match(text, new RegExp(s.personalId));
  assert.match(text, /Xác thực khuôn mặt/);
  assert.match(text, /dev-hash/);
  assert.match(text, /dev-sink/);
  assert.match(text, /Máy thử nghiệm 01/);
  await page.screenshot({ path: join(shots, 'acc-applications.png'), fullPage: true });

  await Promise.all([page.waitForNavigation(), page.click('.tabs a[href="/applications?state=review"]')]);
  const reviewIds = (await page.locator('table.queue tbody tr td:first-child').allTextContents()).map(Number);
  for (const s of sent) assert.equal(reviewIds.includes(s.id), !s.matched, `application ${s.id} in review: ${!s.matched}`);
  assert.match(await page.textContent('h1'), /Hàng chờ duyệt/);
  assert.equal(await page.locator('select[name=state]').inputValue(), 'review');
  await page.screenshot({ path: join(shots, 'acc-review.png'), fullPage: true });

  await page.goto(base + '/lang/en?next=/applications');
  assert.match(await page.textContent('h1'), /Level-2 account applications/);
  await page.screenshot({ path: join(shots, 'acc-applications-en.png'), fullPage: true });
  await page.goto(base + '/lang/vi?next=/applications');
  await page.close();
});

test('a district officer rejects an application in review with a reason', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, 'district');
  await page.goto(base + '/applications?state=review');
  await Promise.all([page.waitForNavigation(), page.locator('table.queue tbody tr a.mono').first().click()]);
  assert.match(page.url(), /\/applications\/\d+$/);
  assert.match(await page.textContent('main'), /Không khớp/);
  assert.equal(await page.locator('form[action$="/approve"] button').count(), 1);
  await page.screenshot({ path: join(shots, 'acc-application.png'), fullPage: true });

  await page.fill('form[action$="/reject"] textarea[name=reason]', 'Ảnh chân dung không rõ mặt, mời công dân thu nhận lại');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/reject"] button')]);
  const body = await page.textContent('main');
  assert.match(body, /Đã từ chối hồ sơ/);
  assert.match(body, /Bị từ chối/);
  assert.match(body, /Ảnh chân dung không rõ mặt/);
  assert.equal(await page.locator('form[action$="/reject"]').count(), 0);
  await page.screenshot({ path: join(shots, 'acc-application-rejected.png'), fullPage: true });
  await page.close();
});

test('a commune officer sees a review of their commune but leaves the decision to the district', async () => {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await signIn(page, 'commune');
  // The oldest of ours in review (the district test rejected the newest).
  const review = sent.filter((s) => !s.matched)[0];
  await page.goto(base + `/applications/${review.id}`);
  assert.match(await page.textContent('main'), /cấp trên/);
  assert.equal(await page.locator('form[action$="/approve"]').count(), 0);
  await page.screenshot({ path: join(shots, 'acc-application-commune.png'), fullPage: true });
  await page.close();
});

test('the device registry suspends a device', async () => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await signIn(page, 'district');
  await page.goto(base + '/devices');
  const row = page.locator('table.devices tbody tr', { hasText: 'Máy thử nghiệm 01' });
  assert.match(await row.textContent(), /Đang hoạt động/);
  assert.match(await row.textContent(), new RegExp(publicHex.slice(0, 16)));
  await page.screenshot({ path: join(shots, 'acc-devices.png'), fullPage: true });

  await Promise.all([page.waitForNavigation(), row.locator('button[data-status=suspended]').click()]);
  const after = page.locator('table.devices tbody tr', { hasText: 'Máy thử nghiệm 01' });
  assert.match(await after.textContent(), /Tạm dừng/);
  assert.equal(await after.locator('button[data-status=active]').count(), 1);
  assert.match(await page.textContent('main'), /Đã cập nhật trạng thái thiết bị/);
  await page.screenshot({ path: join(shots, 'acc-devices-suspended.png'), fullPage: true });

  // A suspended device's packets are refused.
  const refused = await collect({ personal_id: holder.personalId, phone: holder.phone }, true);
  assert.equal(refused.status, 403);
  await page.close();
});

test('the SMS outbox of the development sink shows masked recipients and the codes, to ministry staff only', async () => {
  const district = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await signIn(district, 'district');
  await district.goto(base + '/applications');
  assert.equal(await district.locator('nav.tabs a[href="/sms"]').count(), 0, 'no outbox tab below the ministry');
  const refused = await district.goto(base + '/sms');
  assert.equal(refused.status(), 403);
  assert.equal((await api('GET', '/api/v1/sms?limit=1')).status, 403);
  await district.close();

  const page = await browser.newPage({ viewport: { width: 1366, height: 900 } });
  await signIn(page, 'ministry');
  await page.goto(base + '/applications');
  assert.equal(await page.locator('nav.tabs a[href="/sms"]').count(), 1);
  await page.goto(base + '/sms');
  const rows = page.locator('table.sms tbody tr');
  assert.ok((await rows.count()) >= 3);
  const text = await page.textContent('main');
  assert.match(text, /Ma kich hoat: \d{6}/);
  assert.match(text, /Mã kích hoạt mức 2/);
  assert.ok(!text.includes(holder.phone) && !text.includes(holder.phone.replace('+84', '0')), 'recipients are masked');
  await page.screenshot({ path: join(shots, 'acc-sms.png'), fullPage: true });
  await page.close();
});

test('an account page shows the history, and an officer locks the account with a reason', async () => {
  const page = await browser.newPage({ viewport: { width: 1366, height: 1000 } });
  await signIn(page, 'commune');
  await page.goto(base + `/persons/${holder.personalId}`);
  await Promise.all([page.waitForNavigation(), page.click(`a[href="/accounts/${holder.personalId}"]`)]);
  let text = await page.textContent('main');
  assert.match(text, /Đang hoạt động/);
  assert.match(text, /Kích hoạt mức 2/);
  assert.match(text, /Thu nhận hồ sơ/);
  assert.match(text, /Gửi mã kích hoạt/);
  await page.screenshot({ path: join(shots, 'acc-account.png'), fullPage: true });

  await page.fill('form[action$="/lock"] textarea[name=reason]', 'Công dân gọi tổng đài báo mất điện thoại');
  await Promise.all([page.waitForNavigation(), page.click('form[action$="/lock"] button')]);
  text = await page.textContent('main');
  assert.match(text, /Đã khóa tài khoản/);
  assert.match(text, /Đang bị khóa/);
  assert.match(text, /Cán bộ khóa/);
  assert.match(text, /Công dân gọi tổng đài báo mất điện thoại/);
  assert.equal(await page.locator('form[action$="/unlock"]').count(), 1);
  await page.screenshot({ path: join(shots, 'acc-account-locked.png'), fullPage: true });
  await page.close();
});
