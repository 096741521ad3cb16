/**
 * Per-account access (context `accounts`): each tenant's admin and finance policies reach
 * that tenant's folders and nothing else — not another tenant's, not one whose name merely
 * starts the same way (`acme` and `acme-corp`).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { allows, logicalId, managedPolicyStatements, synth, type Statement, type Synth } from './support/synth.ts';

let s: Synth;
let bucket: string;
const policies: Record<string, { admin: Statement[]; finance: Statement[] }> = {};

beforeAll(() => {
  s = synth({ accounts: ['acme', 'acme-corp', 'globex'] });
  bucket = `<${logicalId(s.stack.data.bucket)}.Arn>`;
  for (const [account, p] of s.stack.accountAccess?.policies ?? []) {
    policies[account] = { admin: managedPolicyStatements(s.json, logicalId(p.admin)), finance: managedPolicyStatements(s.json, logicalId(p.finance)) };
  }
});

const object = (key: string) => `${bucket}/${key}`;
const mayGet = (st: Statement[], key: string) => allows(st, 's3:GetObject', object(key));
const mayPut = (st: Statement[], key: string) => allows(st, 's3:PutObject', object(key));
const mayList = (st: Statement[], prefix: string) => allows(st, 's3:ListBucket', bucket, { 's3:prefix': prefix });
const acme = () => policies.acme as { admin: Statement[]; finance: Statement[] };

describe('per-account access', () => {
  it('makes an admin and a finance policy for every account in context, and only then', () => {
    expect(Object.keys(policies).sort()).toEqual(['acme', 'acme-corp', 'globex']);
    expect(synth().stack.accountAccess).toBeUndefined();
    expect(Object.keys(s.json.Outputs ?? {})).toEqual(expect.arrayContaining(['AccountAcmeAdminPolicyArn', 'AccountAcmeFinancePolicyArn', 'AccountAcmeCorpAdminPolicyArn']));
  });

  it('lets an admin upload under imports/<account>/ only', () => {
    const { admin } = acme();
    expect(mayPut(admin, 'imports/acme/settings.json')).toBe(true);
    expect(mayPut(admin, 'imports/acme/codes/march.csv')).toBe(true);
    expect(allows(admin, 's3:AbortMultipartUpload', object('imports/acme/codes/big.csv'))).toBe(true);
    for (const key of [
      'imports/acme-corp/settings.json',
      'imports/globex/codes/x.csv',
      'imports/settings.json',
      'results/acme/x.json',
      'exports/acme/usage/x.csv',
      'other/acme/x',
    ]) {
      expect(mayPut(admin, key), key).toBe(false);
    }
    expect(allows(admin, 's3:DeleteObject', object('imports/acme/settings.json'))).toBe(false);
  });

  it('lets an admin read results/<account>/ and exports/<account>/ only', () => {
    const { admin } = acme();
    expect(mayGet(admin, 'results/acme/march.csv.20261121T000000Z.json')).toBe(true);
    expect(mayGet(admin, 'exports/acme/usage/2026/11/usage-2026-11-20.csv')).toBe(true);
    for (const key of ['results/acme-corp/x.json', 'exports/acme-corp/usage/x.csv', 'exports/globex/usage/x.csv', 'imports/acme-corp/settings.json']) {
      expect(mayGet(admin, key), key).toBe(false);
    }
  });

  it('lets finance read exports/<account>/ and nothing else', () => {
    const { finance } = acme();
    expect(mayGet(finance, 'exports/acme/usage/2026/11/summary-2026-11.csv')).toBe(true);
    for (const key of ['exports/acme-corp/usage/x.csv', 'exports/globex/usage/x.csv', 'results/acme/x.json', 'imports/acme/settings.json']) {
      expect(mayGet(finance, key), key).toBe(false);
    }
    for (const key of ['exports/acme/usage/x.csv', 'imports/acme/settings.json']) expect(mayPut(finance, key), key).toBe(false);
    expect(finance.flatMap((st) => st.actions).sort()).toEqual(['s3:GetObject', 's3:ListBucket']);
  });

  it("lists only the account's own folders, never a prefix that would show another tenant", () => {
    const { admin, finance } = acme();
    for (const prefix of ['imports/acme/', 'results/acme/', 'exports/acme/', 'results/acme/march.csv.', 'exports/acme/usage/2026/']) {
      expect(mayList(admin, prefix), prefix).toBe(true);
    }
    expect(mayList(finance, 'exports/acme/usage/2026/11/')).toBe(true);
    for (const prefix of ['', 'imports/', 'exports/', 'exports/acme', 'exports/acme-corp/', 'results/globex/']) {
      expect(mayList(admin, prefix), `admin lists "${prefix}"`).toBe(false);
      expect(mayList(finance, prefix), `finance lists "${prefix}"`).toBe(false);
    }
    expect(mayList(finance, 'results/acme/')).toBe(false);
    expect(allows(admin, 's3:ListBucket', bucket)).toBe(false);
  });

  it('names no other account in any statement', () => {
    for (const [account, { admin, finance }] of Object.entries(policies)) {
      const text = JSON.stringify([admin, finance]);
      for (const other of Object.keys(policies).filter((a) => a !== account)) expect(text).not.toContain(`/${other}/`);
    }
  });
});
