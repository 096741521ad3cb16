/** The deployment options from CDK context: what cdk.json and `-c key=value` may say. */
import { describe, expect, it } from 'vitest';
import { readTollgateContext } from '../../infra/context.ts';

const from = (values: Record<string, unknown>) => readTollgateContext({ tryGetContext: (key) => values[key] });

describe('deployment context', () => {
  it('defaults to the stack Tollgate with no tenants, no subscription and no tracing', () => {
    expect(from({})).toEqual({ stackName: 'Tollgate', accounts: [], tracing: false });
  });

  it('takes the emergency caller ID as an E.164 number, and refuses anything else', () => {
    expect(from({ emergencyCallerId: '+14155550100' }).emergencyCallerId).toBe('+14155550100');
    expect(() => from({ emergencyCallerId: '4155550100' })).toThrow(/emergencyCallerId "4155550100" is not an E.164 number/);
    expect(() => from({ emergencyCallerId: 14155550100 })).toThrow(/emergencyCallerId/);
  });

  it('takes accounts as a JSON list from cdk.json or -c, or as a comma list', () => {
    expect(from({ accounts: ['acme', 'globex'] }).accounts).toEqual(['acme', 'globex']);
    expect(from({ accounts: '["acme"]' }).accounts).toEqual(['acme']);
    expect(from({ accounts: 'acme, globex' }).accounts).toEqual(['acme', 'globex']);
  });

  it('refuses an account that is not a slug, or named twice', () => {
    expect(() => from({ accounts: ['Acme'] })).toThrow(/"Acme" is not an account name/);
    expect(() => from({ accounts: ['acme/x'] })).toThrow(/not an account name/);
    expect(() => from({ accounts: ['acme', 'acme'] })).toThrow(/names "acme" twice/);
    expect(() => from({ accounts: '[acme' })).toThrow(/not a JSON list/);
  });

  it('reads numbers and flags that -c passes as strings', () => {
    expect(from({ exportsRetentionDays: '400', noncurrentVersionDays: 90, tracing: 'true' })).toMatchObject({
      exportsRetentionDays: 400,
      noncurrentVersionDays: 90,
      tracing: true,
    });
    expect(() => from({ exportsRetentionDays: 'forever' })).toThrow(/exportsRetentionDays "forever" must be a whole number of days/);
    expect(() => from({ tracing: 'yes' })).toThrow(/tracing "yes" must be true or false/);
  });

  it('wants a custom domain and its certificate together', () => {
    const arn = 'arn:aws:acm:eu-west-1:123456789012:certificate/abc-123';
    expect(from({ domainName: 'Voice.Example.com', certificateArn: arn }).customDomain).toEqual({ domainName: 'voice.example.com', certificateArn: arn });
    expect(() => from({ domainName: 'voice.example.com' })).toThrow(/go together/);
    expect(() => from({ domainName: 'voice.example.com', certificateArn: 'arn:aws:iam::123456789012:role/x' })).toThrow(/not an ACM certificate ARN/);
  });

  it('checks the alert address and the stack name', () => {
    expect(from({ alertEmail: 'ops@example.com' }).alertEmail).toBe('ops@example.com');
    expect(() => from({ alertEmail: 'ops' })).toThrow(/not an e-mail address/);
    expect(from({ stackName: 'Tollgate-Prod' }).stackName).toBe('Tollgate-Prod');
    expect(() => from({ stackName: 'tollgate prod' })).toThrow(/not a CloudFormation stack name/);
  });
});
