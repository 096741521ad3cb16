/**
 * The `tollgate` commands against a local stack started in this process (temp TOLLGATE_HOME,
 * dynalite and s3rver on loopback, the real import handler behind the bucket).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeDynamoClient } from '../../functions/adapters/dynamodb/client.ts';
import { makeDynamoStores } from '../../functions/adapters/dynamodb/stores.ts';
import { makeS3Client } from '../../functions/adapters/s3/client.ts';
import { ACCOUNT_THROTTLE } from '../../functions/core/lockout.ts';
import { silentLogger } from '../../functions/services/logger.ts';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { cliRunner, type CliRunner } from './support/cli-io.ts';

const REPO = join(import.meta.dirname, '..', '..');
/** Authorization codes this suite stores; their digits must never be printed. */
const SECRET_CODES = ['8642', '97531', '735918', '246813', '112358'];

let home: string;
let work: string;
let stack: LocalStack;
let s3: S3Client;
let tollgate: CliRunner;

async function keys(prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: stack.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
}

async function file(name: string, text: string): Promise<string> {
  const path = join(work, name);
  await writeFile(path, text);
  return path;
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'tollgate-cli-'));
  work = await mkdtemp(join(tmpdir(), 'tollgate-cli-files-'));
  stack = await startLocalStack({ home, port: 0, authToken: 'test-token', log: silentLogger });
  s3 = makeS3Client({ endpoint: stack.s3Endpoint });
  tollgate = cliRunner({ env: { TOLLGATE_HOME: home }, cwd: REPO });
});

afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
  await rm(home, { recursive: true, force: true });
  await rm(work, { recursive: true, force: true });
  // Checked last, over everything every test printed.
  const printed = tollgate.transcript.join('\n');
  for (const digits of SECRET_CODES) expect(printed).not.toMatch(new RegExp(`(?<![0-9])${digits}(?![0-9])`));
});

describe('tollgate settings', () => {
  it('says a good file is valid without a running stack', async () => {
    const r = await tollgate(['settings', 'validate', 'examples/settings.json'], { env: { TOLLGATE_HOME: join(work, 'nowhere') } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid');
  });

  it('lists each problem of a bad file with its line, path and value, and exits 1', async () => {
    const path = await file(
      'bad-settings.json',
      JSON.stringify({ account: 'acme', twilioAccountSids: ['AC123'], homeCountry: 'US', timeZone: 'Mars/Base', colour: 'red' }, null, 2),
    );
    const r = await tollgate(['settings', 'validate', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {2}line 4, twilioAccountSids\[0\]: must be a Twilio Account SID.* \(it says "AC123"\)$/m);
    expect(r.stdout).toMatch(/^ {2}line 7, timeZone: must be an IANA time zone.* \(it says "Mars\/Base"\)$/m);
    expect(r.stdout).toMatch(/^ {2}line 8, \(document\): unknown key "colour"/m);
  });

  it('prints the JSON Schema', async () => {
    const r = await tollgate(['settings', 'schema']);
    expect(r.code).toBe(0);
    const schema = JSON.parse(r.stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['account', 'codeLength', 'calls', 'groups', 'entryPoints']));
  });

  it('applies a settings file through the bucket, creating the account', async () => {
    const settings = JSON.parse(await readFile(join(REPO, 'examples', 'settings.json'), 'utf8')) as Record<string, unknown>;
    const path = await file('acme.json', JSON.stringify({ ...settings, account: 'acme', twilioAccountSids: ['AC11111111111111111111111111111111'], entryPoints: {} }));
    const r = await tollgate(['settings', 'apply', path]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^applied: imports\/acme\/settings\.json/m);
    expect(r.stdout).toMatch(/1 row: 1 created/);
    expect(r.stdout).toMatch(/report: s3:\/\/tollgate-local\/results\/acme\/settings\.\d{8}T\d{6}\.\d{3}Z\.json/);
    expect(await keys('imports/acme/')).toEqual(['imports/acme/settings.json']);

    const shown = await tollgate(['settings', 'show', '--account', 'acme']);
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ account: 'acme', homeCountry: 'US', maxAttempts: 3 });
  });

  it('applying the same file again gives a new report that says unchanged', async () => {
    const r = await tollgate(['settings', 'apply', join(work, 'acme.json')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 row: 0 created, 0 updated, 1 unchanged/);
  });

  it('refuses to upload a file that does not validate', async () => {
    const r = await tollgate(['settings', 'apply', join(work, 'bad-settings.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nothing was uploaded');
    expect(await keys('imports/acme/')).toEqual(['imports/acme/settings.json']);
  });
});

describe('tollgate codes', () => {
  it('asks which account when there is more than one', async () => {
    const r = await tollgate(['codes', 'list']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('tollgate: the local stack has 2 accounts (acme, demo): choose one with --account NAME\n');
  });

  it('names the accounts there are when --account names none of them', async () => {
    const r = await tollgate(['codes', 'list', '--account', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('account "nope" does not exist in the local stack (its accounts: acme, demo)');
  });

  it('lists the seeded demo codes, authorization codes by ref only', async () => {
    const r = await tollgate(['codes', 'list', '--account', 'demo']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^CODE\s+ENABLED\s+EXPIRES\s+LEVEL\s+ALLOWED\s+DESCRIPTION$/);
    expect(r.stdout).toMatch(/^0042\s+yes\s+everyone\s+Acme Corp - general counsel$/m);
    expect(r.stdout).toMatch(/^9000\s+no\s+/m);
    expect(r.stdout).toMatch(/^31337\s+yes\s+2027-06-30\s+group:lawyers/m);
    expect(r.stdout.match(/^\(authorization, ref [0-9a-f]{8}\)/gm)).toHaveLength(2);
    expect(r.stdout).toContain('14 codes in demo (12 account, 2 authorization)');
  });

  it('imports an accepted file and prints the counts', async () => {
    const path = await file(
      'march.csv',
      '\ufeffAccount Code;Description;Kind;Level\r\n0100;"Smith; Jones LLP";;\r\n0200;Riverside Clinic;;\r\n735918;Partners abroad;authorization;1\r\n',
    );
    const r = await tollgate(['codes', 'import', path, '--account', 'acme']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^applied: imports\/acme\/codes\/march\.csv \(merge\)$/m);
    expect(r.stdout).toMatch(/3 rows: 3 created, 0 updated, 0 unchanged, 0 deleted/);
    const list = await tollgate(['codes', 'list', '--account', 'acme']);
    expect(list.stdout).toMatch(/^0100\s+yes\s+everyone\s+Smith; Jones LLP$/m);
    expect(list.stdout).toMatch(/^\(authorization, ref [0-9a-f]{8}\)\s+yes\s+1\s+everyone\s+Partners abroad$/m);
  });

  it('prints each error of a rejected file as "line N, column C: message (value)", exits 1 and changes nothing', async () => {
    const before = await tollgate(['codes', 'export', '--account', 'acme']);
    const path = await file('bad.csv', 'code,description,expires\n0100,Smith Jones,\n12,Too short,\n0300,Late,31/12/2026\n0100,Again,\n');
    const r = await tollgate(['codes', 'import', path, '--account', 'acme']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^rejected: imports\/acme\/codes\/bad\.csv \(merge\): nothing was changed$/m);
    expect(r.stdout).toMatch(/4 rows read, 3 errors:/);
    expect(r.stdout).toMatch(/^ {2}line 3, column code: codes of this account are 4-6 digits long .* \(12\)$/m);
    expect(r.stdout).toMatch(/^ {2}line 4, column expires: looks like a spreadsheet reformatted the date.* \(31\/12\/2026\)$/m);
    expect(r.stdout).toMatch(/^ {2}line 5, column code: duplicate of line 2.* \(0100\)$/m);
    const after = await tollgate(['codes', 'export', '--account', 'acme']);
    expect(after.stdout).toBe(before.stdout);
  });

  it('--dry-run checks a file with the same rules and writes nothing', async () => {
    const importsBefore = await keys('imports/acme/');
    const resultsBefore = await keys('results/acme/');
    const good = await tollgate(['codes', 'import', join(work, 'march.csv'), '--account', 'acme', '--dry-run']);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/^valid: .*march\.csv \(merge\) for account acme: 3 rows; dry run, nothing was uploaded$/m);
    const bad = await tollgate(['codes', 'import', join(work, 'bad.csv'), '--account', 'acme', '--dry-run']);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^ {2}line 3, column code: codes of this account are 4-6 digits long .* \(12\)$/m);
    expect(bad.stdout).toMatch(/^ {2}line 5, column code: duplicate of line 2/m);
    const replace = await tollgate(['codes', 'import', await file('empty.csv', 'code\n'), '--account', 'acme', '--dry-run', '--replace']);
    expect(replace.code).toBe(1);
    expect(replace.stdout).toContain('would delete every code');
    expect(await keys('imports/acme/')).toEqual(importsBefore);
    expect(await keys('results/acme/')).toEqual(resultsBefore);
  });

  it('--dry-run finds exactly the errors the import reports, secrets hidden alike', async () => {
    const path = await file(
      'mixed.csv',
      'code,kind,level,description\n112358,authorization,1,Secret\n112358,account,,Same digits\n12,,,Short\n4455,account,3,Level on an account code\n',
    );
    const errorLines = (text: string): string[] => text.split('\n').filter((l) => l.startsWith('  line '));
    const dry = await tollgate(['codes', 'import', path, '--account', 'acme', '--dry-run']);
    const real = await tollgate(['codes', 'import', path, '--account', 'acme']);
    expect(dry.code).toBe(1);
    expect(real.code).toBe(1);
    expect(errorLines(dry.stdout)).toHaveLength(3);
    expect(errorLines(dry.stdout)).toEqual(errorLines(real.stdout));
    expect(errorLines(real.stdout)[0]).toMatch(/^ {2}line 3, column code: duplicate of line 2.*\(\(hidden: authorization code\)\)$/);
  });

  it('--replace makes the file the whole code list', async () => {
    const path = await file('all.csv', 'code,description\n0100,Smith Jones\n0999,New matter\n');
    const r = await tollgate(['codes', 'import', path, '--replace', '--account', 'acme']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/^applied: imports\/acme\/codes-replace\/all\.csv \(replace\)$/m);
    expect(r.stdout).toMatch(/2 rows: 1 created, 1 updated, 0 unchanged, 2 deleted/);
    const list = await tollgate(['codes', 'list', '--account', 'acme']);
    expect(list.stdout).toContain('2 codes in acme (2 account, 0 authorization)');
  });

  it('exports CSV for spreadsheets: BOM, CRLF, the §7 columns and ref, authorization codes without digits', async () => {
    const out = join(work, 'export.csv');
    const r = await tollgate(['codes', 'export', '--account', 'demo', '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`exported 14 codes of demo to ${out} (12 account, 2 authorization)\n`);
    const text = await readFile(out, 'utf8');
    expect(text.startsWith('\ufeffcode,ref,description,kind,enabled,expires,level,users,groups,caller_ids\r\n')).toBe(true);
    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    const rows = text.slice(1).split('\r\n').slice(1, -1);
    expect(rows).toHaveLength(14);
    expect(rows).toContain('0042,,Acme Corp - general counsel,account,true,,,,,+12125550142');
    expect(rows).toContain('1001,,"Halvorsen, Cardenas & Webb - litigation",account,true,,,,,');
    expect(rows).toContain('2010,,Greenfield School District - employment,account,true,,,,,+13475550110;+13475550111');
    expect(rows).toContain('31337,,Contoso Ltd - acquisition of Fabrikam,account,true,2027-06-30,,,lawyers,');
    expect(rows).toContain('9000,,Old matter - Tailspin Toys (closed),account,false,,,,,');
    const auth = rows.filter((row) => row.includes(',authorization,'));
    expect(auth).toHaveLength(2);
    for (const row of auth) expect(row).toMatch(/^,[0-9a-f]{8},/);
    expect(auth).toContainEqual(expect.stringMatching(/^,[0-9a-f]{8},Premium-rate and international - finance,authorization,true,,2,client:dana,,$/));
    for (const digits of SECRET_CODES) expect(text).not.toContain(digits);
  });

  it('guards cells a spreadsheet would run as formulas, but not numbers and E.164 lists', async () => {
    const path = await file('formula.csv', 'code,description,caller_ids\n0500,"=HYPERLINK(""http://x"",""y"")",+15555550100\n0501,@SUM(A1),\n0502,-5 percent,\n');
    expect((await tollgate(['codes', 'import', path, '--account', 'acme'])).code).toBe(0);
    const r = await tollgate(['codes', 'export', '--account', 'acme']);
    expect(r.stdout).toContain('\r\n0500,,"\'=HYPERLINK(""http://x"",""y"")",account,true,,,,,+15555550100\r\n');
    expect(r.stdout).toContain("\r\n0501,,'@SUM(A1),account,true,,,,,\r\n");
    expect(r.stdout).toContain("\r\n0502,,'-5 percent,account,true,,,,,\r\n");
  });

  it('adds an account code through a one-row import file', async () => {
    const r = await tollgate(['codes', 'add', '0777', '--description', 'Walk-in client', '--groups', 'lawyers', '--expires', '2027-01-31', '--account', 'acme']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^applied: imports\/acme\/codes\/cli-add-\d{8}T\d{9}Z\.csv \(merge\)$/m);
    expect(r.stdout).toMatch(/^code 0777 added to acme$/m);
    const list = await tollgate(['codes', 'list', '--account', 'acme']);
    expect(list.stdout).toMatch(/^0777\s+yes\s+2027-01-31\s+group:lawyers\s+Walk-in client$/m);
  });

  it('adds an authorization code read from stdin without printing its digits', async () => {
    const before = (await tollgate(['codes', 'list', '--account', 'acme'])).stdout.match(/ref [0-9a-f]{8}/g) ?? [];
    const r = await tollgate(['codes', 'add', '--kind', 'authorization', '--level', '2', '--description', 'Finance premium', '--account', 'acme'], {
      stdin: '246813\n',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^authorization code \(its digits are not shown or stored\) added to acme$/m);
    const after = (await tollgate(['codes', 'list', '--account', 'acme'])).stdout.match(/ref [0-9a-f]{8}/g) ?? [];
    expect(after).toHaveLength(before.length + 1);
    // The uploaded file is the admin's audit trail; the report names no digits.
    const reportKey = /report: s3:\/\/tollgate-local\/(\S+)/.exec(r.stdout)?.[1] ?? '';
    const report = await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: reportKey }));
    expect(await report.Body?.transformToString()).not.toContain('246813');
    // Nor does any file in the bucket: the uploaded file is replaced by its redacted copy.
    for (const key of [...(await keys('imports/acme/')), ...(await keys('results/acme/'))]) {
      const body = await (await s3.send(new GetObjectCommand({ Bucket: stack.bucket, Key: key }))).Body?.transformToString();
      expect(body, key).not.toContain('246813');
    }
  });

  it('checks a code before uploading it', async () => {
    const r = await tollgate(['codes', 'add', '12', '--account', 'acme']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^not added: the code is not valid for acme:\n {2}CODE: codes of this account are 4-6 digits long/m);
    const groups = await tollgate(['codes', 'add', '4321', '--groups', 'partners', '--account', 'acme']);
    expect(groups.code).toBe(1);
    expect(groups.stdout).toContain('--groups: unknown group "partners"');
  });

  it('deletes codes with --yes and says how many were not there', async () => {
    const r = await tollgate(['codes', 'delete', '0777', '0999', '4444', '--yes', '--account', 'acme']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^applied: imports\/acme\/codes\/cli-delete-\d{8}T\d{9}Z\.csv \(merge\)$/m);
    expect(r.stdout).toMatch(/^deleted 2 codes from acme; 1 was not there$/m);
    const list = await tollgate(['codes', 'list', '--account', 'acme']);
    expect(list.stdout).not.toMatch(/^0777 /m);
    expect(list.stdout).not.toMatch(/^0999 /m);
  });

  it('deletes an authorization code by its digits, which it does not echo', async () => {
    const r = await tollgate(['codes', 'delete', '246813', '--yes', '--account', 'acme']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^deleted 1 code from acme$/m);
  });

  it('asks before deleting on a terminal, and does nothing on no', async () => {
    const no = await tollgate(['codes', 'delete', '0100', '--account', 'acme'], { tty: true, stdin: 'n\n' });
    expect(no.stderr).toContain('Delete 1 code from acme? [y/N] ');
    expect(no.code).toBe(1);
    expect((await tollgate(['codes', 'list', '--account', 'acme'])).stdout).toMatch(/^0100 /m);
    const yes = await tollgate(['codes', 'delete', '0100', '--account', 'acme'], { tty: true, stdin: 'y\n' });
    expect(yes.code).toBe(0);
    expect((await tollgate(['codes', 'list', '--account', 'acme'])).stdout).not.toMatch(/^0100 /m);
  });

  it('refuses to delete without a terminal and without --yes', async () => {
    const r = await tollgate(['codes', 'delete', '0500', '--account', 'acme']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('tollgate: refusing to delete 1 code from acme without confirmation: there is no terminal to ask on; add --yes\n');
  });
});

describe('tollgate users import', () => {
  it('imports a users file', async () => {
    const path = await file('people.csv', 'user,name,group,international\nclient:erin,Erin,lawyers,authorized\n+12125550188,Lobby phone,interns,\n');
    const r = await tollgate(['users', 'import', path, '--account', 'acme']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^applied: imports\/acme\/users\/people\.csv \(merge\)$/m);
    expect(r.stdout).toMatch(/2 rows: 2 created/);
  });

  it('rejects a users file naming an unknown group', async () => {
    const path = await file('people-bad.csv', 'user,group\nclient:frank,partners\n');
    const r = await tollgate(['users', 'import', path, '--account', 'acme']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^ {2}line 2, column group: unknown group "partners".* \(partners\)$/m);
  });
});

describe('tollgate errors', () => {
  it('says when no local stack is running and how to start one', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'tollgate-empty-'));
    const r = await tollgate(['codes', 'list'], { env: { TOLLGATE_HOME: empty } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`tollgate: no local stack is running in ${empty}: start it with npm start\n`);
    await rm(empty, { recursive: true });
  });

  // --stack against a deployed stack: test/integration/cli-stack.test.ts (a fake CloudFormation).
  it('refuses --local and --stack together', async () => {
    const r = await tollgate(['codes', 'list', '--local', '--stack', 'prod']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('tollgate: --local and --stack name different targets: give one of them\n');
  });

  it('names the missing argument, the unknown option and the missing file', async () => {
    expect((await tollgate(['codes', 'import'])).stderr).toBe('tollgate codes import: FILE is missing (see tollgate codes import --help)\n');
    expect((await tollgate(['codes', 'list', '--colour'])).stderr).toBe('tollgate codes list: unknown option --colour (see tollgate codes list --help)\n');
    const missing = await tollgate(['codes', 'import', 'no-such.csv', '--account', 'acme']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('tollgate: cannot read no-such.csv: there is no such file\n');
    expect((await tollgate(['codes', 'frob'])).stderr).toBe('tollgate codes has no subcommand "frob": use one of import, export, list, add, delete, reindex\n');
  });

  it('has --help for every command', async () => {
    for (const command of [
      ['dev'],
      ['settings', 'validate'],
      ['settings', 'apply'],
      ['settings', 'show'],
      ['settings', 'schema'],
      ['codes', 'import'],
      ['codes', 'export'],
      ['codes', 'list'],
      ['codes', 'add'],
      ['codes', 'delete'],
      ['users', 'import'],
    ]) {
      const r = await tollgate([...command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: tollgate ${command.join(' ')}`));
    }
  });
});

describe('tollgate accounts bind', () => {
  it('moves a Twilio Account SID to another account, which may then list it, and checks what it is given', async () => {
    const sid = 'AC22222222222222222222222222222222';
    const settings = JSON.parse(await readFile(join(REPO, 'examples', 'settings.json'), 'utf8')) as Record<string, unknown>;
    for (const account of ['bind-one', 'bind-two']) {
      const path = await file(
        `${account}.json`,
        JSON.stringify({ ...settings, account, twilioAccountSids: account === 'bind-one' ? [sid] : ['AC33333333333333333333333333333333'], entryPoints: {} }),
      );
      expect((await tollgate(['settings', 'apply', path])).code).toBe(0);
    }
    // bind-two cannot take the SID by naming it: the refusal names no other account.
    const claim = await file('bind-two-claims.json', JSON.stringify({ ...settings, account: 'bind-two', twilioAccountSids: [sid], entryPoints: {} }));
    const refused = await tollgate(['settings', 'apply', claim]);
    expect(refused.code).toBe(1);
    expect(`${refused.stdout}${refused.stderr}`).toMatch(/bound to another account/);
    expect(`${refused.stdout}${refused.stderr}`).not.toMatch(/bind-one/);

    const bound = await tollgate(['accounts', 'bind', sid, 'bind-two']);
    expect(bound.code, bound.stderr).toBe(0);
    expect(bound.stdout).toBe(`Twilio Account SID ${sid} is now bound to account bind-two\n`);
    // Now bind-two's: its settings may name it.
    expect((await tollgate(['settings', 'apply', claim])).code).toBe(0);

    const listed = await tollgate(['accounts', 'list']);
    expect(listed.stdout).toMatch(new RegExp(`^bind-two\\s+${sid}\\s+yes$`, 'm'));
    expect(listed.stdout).toMatch(new RegExp(`^bind-one\\s+${sid}\\s+no: another account holds it$`, 'm'));
    expect((await tollgate(['accounts', 'bind', 'AC1', 'bind-two'])).stderr).toMatch(/not a Twilio Account SID/);
    expect((await tollgate(['accounts', 'bind', sid, 'nobody'])).stderr).toMatch(/there is no account "nobody"/);
  });
});

describe('tollgate lockouts and tollgate audit', () => {
  it('lists who is locked out, unlocks them as a named person, and shows each change in the audit trail', async () => {
    expect((await tollgate(['lockouts', 'list', '--account', 'acme'])).stdout).toBe('nobody is locked out of code entry in acme\n');
    // Two locks, as the voice function leaves them: a caller's and the account-wide throttle's.
    const client = makeDynamoClient({ endpoint: stack.dynamodbEndpoint });
    const { lockouts } = makeDynamoStores({ client, tables: stack.tables });
    const until = new Date(Date.now() + 30 * 60_000).toISOString();
    await lockouts.put('acme', 'sip:bob@acme.sip.twilio.com', { windowStart: new Date().toISOString(), failures: 0, lockedUntil: until });
    await lockouts.put('acme', ACCOUNT_THROTTLE, { windowStart: new Date().toISOString(), failures: 0, lockedUntil: until });
    client.destroy();

    const listed = await tollgate(['lockouts', 'list', '--account', 'acme']);
    expect(listed.stdout).toMatch(/^USER\s+LOCKED UNTIL$/m);
    expect(listed.stdout).toMatch(/^sip:bob@acme\.sip\.twilio\.com\s+\d{4}-\d\d-\d\dT/m);
    expect(listed.stdout).toMatch(/^account-wide \(callers not in the users list\)\s+/m);

    const bare = await tollgate(['lockouts', 'clear', 'bob', '--account', 'acme']);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toMatch(/client:alice .* sip:alice@acme\.sip\.twilio\.com .* \+14155550123/);

    const cleared = await tollgate(['lockouts', 'clear', 'sip:Bob@ACME.sip.twilio.com:5060', '--as', 'Dana Ops', '--account', 'acme']);
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toMatch(/^unlocked sip:bob@acme\.sip\.twilio\.com in acme$/m);
    expect((await tollgate(['lockouts', 'clear', '--account-wide', '--account', 'acme'])).stdout).toMatch(/^unlocked the account-wide throttle in acme$/m);
    expect((await tollgate(['lockouts', 'list', '--account', 'acme'])).stdout).toBe('nobody is locked out of code entry in acme\n');

    const trail = await tollgate(['audit', '--account', 'acme']);
    expect(trail.code, trail.stderr).toBe(0);
    expect(trail.stdout).toMatch(/^WHEN\s+WHO\s+WHAT\s+OUTCOME$/m);
    expect(trail.stdout).toMatch(/Dana Ops\s+lockouts\/sip:bob@acme\.sip\.twilio\.com\s+applied: 1 deleted/);
    expect(trail.stdout).toMatch(/imports\/acme\/settings\.json\s+applied/);
    const json = (await tollgate(['audit', '--json', '--since', '2000-01-01', '--account', 'acme'])).stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { actor: string; file: string });
    expect(json.find((r) => r.file === 'lockouts/sip:bob@acme.sip.twilio.com')?.actor).toBe('Dana Ops');
    // Every change names who made it: the CLI's user (or --as), never "unknown".
    expect(json.filter((r) => r.actor === 'unknown').map((r) => r.file)).toEqual([]);
    expect((await tollgate(['audit', '--since', '2999-01-01', '--account', 'acme'])).stdout).toBe('no changes in acme since 2999-01-01\n');
    expect((await tollgate(['audit', '--since', 'yesterday', '--account', 'acme'])).stderr).toMatch(/give a day as YYYY-MM-DD/);
  });
});

describe('tollgate users list and export, codes list filters', () => {
  it('lists the users, and exports them as a users file that imports back unchanged', async () => {
    const listed = await tollgate(['users', 'list', '--account', 'demo']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^USER\s+NAME\s+GROUP\s+CALLER ID\s+OVERRIDES$/m);
    expect(listed.stdout).toMatch(/^client:dana\s+Dana Kim \(finance\)\s+staff\s+\+12125550104\s+international=authorized$/m);
    expect(listed.stdout).toMatch(/^\d+ users in demo$/m);

    const out = join(work, 'users-export.csv');
    const exported = await tollgate(['users', 'export', '--out', out, '--account', 'demo']);
    expect(exported.code, exported.stderr).toBe(0);
    const text = await readFile(out, 'utf8');
    expect(text.startsWith('\ufeffuser,name,group,caller_id,max_attempts,proceed_after_max_attempts,validate,language,after_call_prompt,default,emergency,')).toBe(true);
    const again = await tollgate(['users', 'import', out, '--account', 'demo']);
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout).toMatch(/(\d+) rows: 0 created, 0 updated, \1 unchanged, 0 deleted/);
  });

  it('lists only one kind, or the codes a search finds by digits, ref or description words', async () => {
    const accountOnly = await tollgate(['codes', 'list', '--kind', 'account', '--account', 'demo']);
    expect(accountOnly.stdout).not.toMatch(/\(authorization, ref/);
    expect(accountOnly.stdout).toMatch(/^0042\s/m);
    const authOnly = await tollgate(['codes', 'list', '--kind', 'authorization', '--account', 'demo']);
    expect(authOnly.stdout).toMatch(/\(authorization, ref [0-9a-f]{8}\)/);
    expect(authOnly.stdout).not.toMatch(/^0042\s/m);
    const byDigits = await tollgate(['codes', 'list', '--search', '100', '--account', 'demo']);
    expect(byDigits.stdout).toMatch(/^1001\s/m);
    expect(byDigits.stdout).toMatch(/^1002\s/m);
    expect(byDigits.stdout).not.toMatch(/^0042\s/m);
    const byWords = await tollgate(['codes', 'list', '--search', 'probate BIRCHWOOD', '--account', 'demo']);
    expect(byWords.stdout).toMatch(/^0107\s.*Birchwood Estate - probate$/m);
    expect(byWords.stdout).toMatch(/^1 code in demo/m);
    expect((await tollgate(['codes', 'list', '--search', 'no such words', '--account', 'demo'])).stdout).toBe('no code of demo matches\n');
    expect((await tollgate(['codes', 'list', '--kind', 'secret', '--account', 'demo'])).stderr).toMatch(/use account or authorization/);
  });

  it('rebuilds the description word index of every code', async () => {
    const listed = (await tollgate(['codes', 'list', '--account', 'demo'])).stdout.match(/^(\d+) codes in demo/m)?.[1];
    const r = await tollgate(['codes', 'reindex', '--account', 'demo']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`indexed the description words of ${listed} codes in demo\n`);
  });
});
