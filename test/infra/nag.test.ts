/**
 * cdk-nag's AWS Solutions checks over the stack, in its fullest configuration (tenant
 * policies, a custom domain, an alert address, tracing): nothing unacknowledged, every
 * acknowledgement justified in words, and none of them stale — each one silences a finding
 * that exists.
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { TollgateStack, type TollgateStackProps } from '../../infra/tollgate-stack.ts';
import { stackProps, testApp } from './support/synth.ts';

const FULL: Partial<TollgateStackProps> = {
  accounts: ['acme', 'globex'],
  alertEmail: 'ops@example.com',
  customDomain: { domainName: 'voice.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/abc-123' },
  exportsRetentionDays: 400,
};

interface Acknowledgement {
  readonly path: string;
  readonly id: string;
  readonly reason: string;
}

function acknowledgements(root: IConstruct): Acknowledgement[] {
  const out: Acknowledgement[] = [];
  for (const c of root.node.findAll()) {
    for (const entry of c.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
        out.push({ path: c.node.path, id: key.replace(/^annotation::/i, ''), reason });
      }
    }
  }
  return out;
}

function stackWith(props: Partial<TollgateStackProps>): TollgateStack {
  return new TollgateStack(testApp(), 'Tollgate', stackProps(props));
}

describe('cdk-nag AwsSolutionsChecks', () => {
  it.each([
    ['the default stack', {}],
    ['the fullest stack', FULL],
    ['a traced stack', { tracing: true }],
  ] as const)('passes on %s', (_name, props) => {
    const stack = stackWith(props);
    const report = new AwsSolutionsChecks(stack.node.root).validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges each finding with a reason in words, not a rule id alone', () => {
    const acks = acknowledgements(stackWith(FULL));
    expect(acks.length).toBeGreaterThan(0);
    for (const ack of acks) {
      expect(ack.id, ack.path).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(ack.reason.split(/\s+/).length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(12);
    }
  });

  it('acknowledges nothing that is not a finding', () => {
    const stack = stackWith(FULL);
    const acks = acknowledgements(stack);
    // Take every acknowledgement away, check again: each one must be found at its construct.
    for (const c of stack.node.findAll()) {
      // constructs keeps a node's entries in `_metadata`, made on the first entry.
      const metadata = (c.node as unknown as { _metadata?: { type: string }[] })._metadata;
      if (metadata === undefined) continue;
      metadata.splice(0, metadata.length, ...metadata.filter((m) => m.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY));
    }
    const report = new AwsSolutionsChecks(stack.node.root).validateScope(stack);
    expect(acknowledgements(stack)).toEqual([]);
    const findings = report.violations.flatMap((v) => v.violatingResources.map((r) => ({ id: v.ruleName, path: r.constructPath ?? '' })));
    for (const ack of acks) {
      const found = findings.some((f) => f.id === ack.id && (f.path === ack.path || f.path.startsWith(`${ack.path}/`)));
      expect(found, `${ack.id} acknowledged at ${ack.path} is not a finding there`).toBe(true);
    }
    // …and nothing was found that no acknowledgement covers.
    for (const f of findings) {
      expect(
        acks.some((a) => a.id === f.id && (f.path === a.path || f.path.startsWith(`${a.path}/`))),
        `${f.id} at ${f.path}`,
      ).toBe(true);
    }
  });
});
