/**
 * The web console in a real browser (headless Chromium driven by playwright-core) against the
 * local stack: a person signs in as each role and works the pages by their roles and labels.
 * Set TOLLGATE_SCREENSHOTS to a folder to keep a screenshot of each page (`npm run screenshots`
 * writes the README's into docs/console/).
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDate } from '../../functions/core/time.ts';
import { CONSOLE_PASSWORD, GLOBEX_ADMIN, NY, startConsoleStack, type ConsoleStack } from '../support/console-stack.ts';

const CHROMIUM = process.env.TOLLGATE_CHROMIUM ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI) throw new Error(`no browser at ${CHROMIUM}: .ci/run installs Debian's chromium package (apt-get install -y chromium)`);
if (!available) console.warn(`console browser tests skipped: no browser at ${CHROMIUM} (apt-get install -y chromium, or set TOLLGATE_CHROMIUM)`);

let c: ConsoleStack;
let browser: Browser;
let shots: string;
const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000);
const ALICE_CALL = `CA${'b'.repeat(32)}`;

beforeAll(async () => {
  if (!available) return;
  c = await startConsoleStack();
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  shots = process.env.TOLLGATE_SCREENSHOTS ?? (await mkdtemp(join(tmpdir(), 'tollgate-shots-')));
  await mkdir(shots, { recursive: true });
  await c.putCall('demo', { callSid: ALICE_CALL, startedAt: threeDaysAgo.toISOString() });
  await c.putCall('demo', {
    callSid: `CA${'e'.repeat(32)}`,
    user: 'client:dana',
    caller: 'client:dana',
    destination: '911',
    destinationClass: 'emergency',
    treatment: 'free',
    codeStatus: 'exempt',
    attempts: 0,
    startedAt: threeDaysAgo.toISOString(),
  });
  await c.putCall('demo', {
    callSid: `CA${'f'.repeat(32)}`,
    user: 'client:dana',
    caller: 'client:dana',
    codeStatus: 'invalid',
    attempts: 3,
    outcome: 'blocked',
    talkS: 0,
    startedAt: threeDaysAgo.toISOString(),
  });
  await c.putCall('demo', {
    callSid: `CA${'c'.repeat(32)}`,
    user: 'client:bob',
    caller: 'client:bob',
    code: '0042',
    codeKind: 'account',
    codeDescription: 'Acme Corp - general counsel',
    codeStatus: 'valid',
    talkS: 610,
    startedAt: threeDaysAgo.toISOString(),
  });
  await c.stack.exports.runNow();
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await c?.close();
});

/** A fresh browser session at 1280×800 (or a phone's width), signed in as `email`. */
async function signedIn(email: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
  const page = await browser.newPage({ viewport, acceptDownloads: true });
  page.on('dialog', (d) => {
    throw new Error(`the page opened a ${d.type()} dialog: ${d.message()}`);
  });
  await page.goto(`${c.url}/console/`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(CONSOLE_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  return page;
}

/** Poll what the page shows until it matches, for as long as a busy machine may need (never a speed assertion). */
const eventually = <T>(probe: () => T | Promise<T>) => expect.poll(probe, { timeout: 30_000, interval: 50 });

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

describe.skipIf(!available)('the console in a browser', () => {
  it('refuses a wrong password, then signs an admin in and out', async () => {
    const page = await browser.newPage();
    await page.goto(`${c.url}/`);
    await page.getByLabel('Email').fill('admin@demo.test');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await eventually(() => page.getByRole('alert').textContent()).toBe('wrong email or password');
    await shot(page, 'sign-in');
    await page.getByLabel('Password').fill(CONSOLE_PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Codes', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    await page.close();
  });

  it('adds, edits and deletes an account code, showing a hostile description as text', async () => {
    const page = await signedIn('admin@demo.test');
    const add = page.getByRole('form', { name: 'Add a code' });
    await add.getByLabel('Code', { exact: true }).fill('6161');
    await add.getByLabel('Description').fill('<img src=x onerror=alert(1)>');
    await add.getByRole('button', { name: 'Add code' }).click();
    await eventually(() => page.getByRole('status').first().textContent()).toBe('Saved code 6161.');
    await page.getByLabel('Search codes').fill('6161');
    await page.getByRole('button', { name: 'Search' }).click();
    const row = page.getByRole('row', { name: /6161/ });
    await eventually(() => row.getByRole('cell').nth(1).textContent()).toBe('<img src=x onerror=alert(1)>');
    expect(await page.locator('img').count()).toBe(0);
    await page.getByRole('button', { name: 'Edit code 6161' }).click();
    const edit = page.getByRole('form', { name: 'Edit code 6161' });
    await edit.getByLabel('Description').fill('Initech - tax');
    await edit.getByRole('button', { name: 'Save changes' }).click();
    await eventually(() => row.getByRole('cell').nth(1).textContent()).toBe('Initech - tax');
    await page.getByRole('button', { name: 'Delete code 6161' }).click();
    await page.getByRole('alertdialog').getByRole('button', { name: 'Delete' }).click();
    await eventually(() => page.getByRole('status').first().textContent()).toBe('Deleted code 6161.');
    await eventually(() => page.getByText('No codes match.').count()).toBe(1);
    expect((await c.stores.codes.getCodes('demo', ['A#6161'])).size).toBe(0);
    await page.close();
  });

  it('takes an authorization code typed twice and never shows its digits', async () => {
    const page = await signedIn('admin@demo.test');
    const add = page.getByRole('form', { name: 'Add a code' });
    await add.getByLabel('Kind').selectOption('authorization');
    await add.getByLabel('Authorization code', { exact: true }).fill('246813');
    await add.getByLabel('Authorization code again').fill('246810');
    await add.getByLabel('Description').fill('Board travel');
    await add.getByRole('button', { name: 'Add code' }).click();
    await eventually(() => add.getByText('The two codes differ: type the same code twice.').count()).toBe(1);
    await add.getByLabel('Authorization code again').fill('246813');
    await add.getByLabel('Level').fill('2');
    await add.getByRole('button', { name: 'Add code' }).click();
    await eventually(() => page.getByRole('status').first().textContent()).toBe('Saved authorization code (its digits are not shown again).');
    await page.getByLabel('Search codes').fill('Board travel');
    await page.getByRole('button', { name: 'Search' }).click();
    await eventually(() => page.getByRole('row', { name: /Board travel/ }).textContent()).toMatch(/ref [0-9a-f]{8}/);
    expect(await page.content()).not.toContain('246813');
    await page.close();
  });

  it('shows the dry run of an upload with every bad line before anything changes, then applies a good file', async () => {
    const page = await signedIn('admin@demo.test');
    const upload = page.getByRole('form', { name: 'Upload a codes file' });
    const bad = 'code,description\r\n7101,Fine\r\n12,Too short\r\n7103,Fine too\r\n';
    await upload.getByLabel('Codes file').setInputFiles({ name: 'clients.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    await upload.getByRole('button', { name: 'Check file' }).click();
    const dryRun = upload.getByRole('region', { name: 'Dry run' });
    await eventually(() => dryRun.getByRole('alert').textContent()).toMatch(/nothing was changed: 3 rows, 1 error/);
    const line = dryRun.getByRole('row', { name: /^3 code 12/ });
    expect(await line.getByRole('cell').nth(3).textContent()).toMatch(/4-6 digits|at least 4/);
    expect(await upload.getByRole('button', { name: 'Apply file' }).count()).toBe(0);
    expect((await c.stores.codes.getCodes('demo', ['A#7101'])).size).toBe(0);
    await shot(page, 'codes-upload');
    await upload.getByLabel('Codes file').setInputFiles({ name: 'clients.csv', mimeType: 'text/csv', buffer: Buffer.from('code,description\r\n7101,Fine\r\n7103,Fine too\r\n') });
    await upload.getByRole('button', { name: 'Check file' }).click();
    await upload.getByRole('button', { name: 'Apply file' }).click();
    await eventually(() => upload.getByRole('region', { name: 'Import report' }).getByRole('status').textContent()).toMatch(/Applied: 2 rows, 2 created/);
    expect((await c.stores.codes.getCodes('demo', ['A#7101', 'A#7103'])).size).toBe(2);
    await page.close();
  });

  it('lets finance read and download but change nothing, even by asking the API directly', async () => {
    const page = await signedIn('finance@demo.test');
    await page.getByRole('table', { name: 'Codes' }).waitFor();
    expect(await page.getByRole('form', { name: 'Add a code' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Edit / }).count()).toBe(0);
    const status = await page.evaluate<number>(`(async () => {
      const { token } = JSON.parse(sessionStorage.getItem('tollgate.session') ?? '{}');
      const res = await fetch('/api/codes', { method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' }, body: JSON.stringify({ code: '5656' }) });
      return res.status;
    })()`);
    expect(status).toBe(403);
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download codes (CSV)' }).click();
    const file = await (await download).path();
    expect(await readFile(file, 'utf8')).toMatch(/^\ufeffcode,ref,description/);
    await page.close();
  });

  it("keeps another account's admin to their own codes", async () => {
    const page = await signedIn(GLOBEX_ADMIN);
    const table = page.getByRole('table', { name: 'Codes' });
    await eventually(() => table.getByRole('row').count()).toBe(2);
    expect(await table.textContent()).toContain('Globex secret project');
    expect(await table.textContent()).not.toContain('Acme');
    await page.close();
  });

  it('unlocks a locked-out caller from the Security page', async () => {
    await c.stores.lockouts.put('demo', 'client:dana', { windowStart: new Date().toISOString(), failures: 10, lockedUntil: new Date(Date.now() + 3_600_000).toISOString() });
    const page = await signedIn('admin@demo.test');
    await page.getByRole('link', { name: 'Security' }).click();
    await page.getByRole('table', { name: 'Locked out of code entry' }).waitFor();
    await shot(page, 'security');
    await page.getByRole('button', { name: 'Unlock client:dana' }).click();
    await eventually(() => page.getByRole('status').first().textContent()).toBe('Unlocked client:dana.');
    await eventually(() => page.getByText('Nobody is locked out of code entry.').count()).toBe(1);
    expect((await c.stores.lockouts.get('demo', 'client:dana'))?.lockedUntil).toBeUndefined();
    await page.close();
  });

  it("downloads a day's usage file from the Reports page", async () => {
    const day = localDate(threeDaysAgo, NY);
    const page = await signedIn('finance@demo.test');
    await page.getByRole('link', { name: 'Reports' }).click();
    await page.getByLabel('Month', { exact: true }).fill(day.slice(0, 7));
    await page.getByRole('button', { name: 'Show month' }).click();
    await page.getByRole('img', { name: 'Bar chart of billable minutes per code' }).waitFor();
    await shot(page, 'reports');
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: `Download usage-${day}.csv` }).click();
    expect(await readFile(await (await download).path(), 'utf8')).toContain(ALICE_CALL);
    await page.close();
  });

  it('lets a user see only their calls and tag their own untagged one', async () => {
    const page = await signedIn('alice@demo.test');
    const nav = page.getByRole('navigation', { name: 'Console' });
    expect(await nav.getByRole('link').allTextContents()).toEqual(['My codes', 'My calls']);
    await page.getByLabel('Day').fill(localDate(threeDaysAgo, NY));
    await page.getByRole('button', { name: 'Show calls' }).click();
    const table = page.getByRole('table', { name: /^Calls on / });
    await eventually(() => table.getByRole('row').count()).toBe(2);
    await table.getByRole('button', { name: /^Details of the call/ }).click();
    await page.getByLabel('Account code').fill('0042');
    await page.getByRole('button', { name: 'Tag call' }).click();
    await eventually(() => page.getByRole('region', { name: 'Call details' }).getByRole('status').textContent()).toBe('Tagged the call with code 0042.');
    expect((await c.stores.calls.get(ALICE_CALL))?.state).toMatchObject({ code: '0042', codeStatus: 'tagged' });
    await shot(page, 'my-calls');
    await page.close();
  });

  it('changes a setting after showing the difference, and reverts to the earlier version', async () => {
    const page = await signedIn('admin@demo.test');
    await page.getByRole('link', { name: 'Settings' }).click();
    const form = page.getByRole('form', { name: 'Settings' });
    await form.getByLabel('gatherTimeoutSeconds').fill('99');
    await form.getByRole('button', { name: 'Check changes' }).click();
    await eventually(() => form.getByRole('alert').first().textContent()).toMatch(/gatherTimeoutSeconds/);
    await form.getByLabel('gatherTimeoutSeconds').fill('8');
    await form.getByRole('button', { name: 'Check changes' }).click();
    const changes = page.getByRole('region', { name: 'Changes to apply' });
    await eventually(() => changes.getByRole('row', { name: /gatherTimeoutSeconds/ }).textContent()).toMatch(/gatherTimeoutSeconds\s*6\s*8/);
    await changes.getByRole('button', { name: 'Apply settings' }).click();
    await eventually(() => page.getByRole('status').first().textContent()).toBe('Settings applied.');
    expect((await c.stores.accounts.getSettings('demo'))?.gatherTimeoutSeconds).toBe(8);
    const versions = page.getByRole('table', { name: 'Earlier versions' });
    await eventually(() => versions.getByRole('row').count()).toBeGreaterThanOrEqual(3);
    await versions
      .getByRole('button', { name: /^Revert to the version of/ })
      .nth(1)
      .click();
    await page.getByRole('region', { name: 'Changes to apply' }).getByRole('button', { name: 'Apply settings' }).click();
    await eventually(async () => (await c.stores.accounts.getSettings('demo'))?.gatherTimeoutSeconds).toBe(6);
    await page.close();
  });

  it('shows every page to an admin, on a desk and on a phone', async () => {
    const page = await signedIn('admin@demo.test');
    for (const [link, role, name, file] of [
      ['Codes', 'table', 'Codes', 'codes'],
      ['Users & groups', 'table', 'Users', 'users'],
      ['Settings', 'form', 'Settings', 'settings'],
      ['Activity', 'table', 'Every change to the account, newest first', 'activity'],
    ] as const) {
      await page.getByRole('link', { name: link }).click();
      await page.getByRole(role, { name, exact: true }).waitFor();
      await shot(page, file);
    }
    await page.getByRole('link', { name: 'Calls' }).click();
    await page.getByLabel('Day').fill(localDate(threeDaysAgo, NY));
    await page.getByRole('button', { name: 'Show calls' }).click();
    await page.getByRole('table', { name: /^Calls on / }).waitFor();
    await shot(page, 'calls');
    const phone = await signedIn('admin@demo.test', { width: 375, height: 740 });
    await phone.getByRole('table', { name: 'Codes' }).waitFor();
    const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(phone, 'codes-phone');
    await phone.close();
    await page.close();
  });
});
