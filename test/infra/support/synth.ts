/**
 * Synthesise TollgateStack for assertions: the feature flags of cdk.json (what `cdk synth`
 * uses), bundling skipped (the handlers are not built, so a synth takes about a second), and
 * helpers that read IAM the way AWS evaluates it, with CloudFormation references flattened
 * to `<LogicalId.Arn>` as cdk-nag spells them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { TollgateStack, type TollgateStackProps } from '../../../infra/tollgate-stack.ts';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** The context of cdk.json: the feature flags the real synth runs with. */
export function cdkJsonContext(): Record<string, unknown> {
  const json = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return json.context ?? {};
}

/** An app as `cdk synth` makes it, minus bundling. */
export function testApp(context: Record<string, unknown> = {}): App {
  return new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } });
}

export interface Synth {
  readonly app: App;
  readonly stack: TollgateStack;
  readonly template: Template;
  /** The template as JSON. */
  readonly json: TemplateJson;
}

export interface TemplateJson {
  readonly Resources: Record<
    string,
    { readonly Type: string; readonly Properties?: Record<string, unknown>; readonly DeletionPolicy?: string; readonly UpdateReplacePolicy?: string }
  >;
  readonly Outputs?: Record<string, { readonly Value: unknown }>;
}

/** The emergency caller ID every test stack gets unless it names its own. */
export const TEST_EMERGENCY_CALLER_ID = '+15005550006';

/** Stack props for a test: the required emergency caller ID filled in. */
export function stackProps(props: Partial<TollgateStackProps> = {}): TollgateStackProps {
  return { emergencyCallerId: TEST_EMERGENCY_CALLER_ID, ...props };
}

export function synth(props: Partial<TollgateStackProps> = {}, context: Record<string, unknown> = {}): Synth {
  const app = testApp(context);
  const stack = new TollgateStack(app, 'Tollgate', stackProps(props));
  const template = Template.fromStack(stack);
  return { app, stack, template, json: template.toJSON() as TemplateJson };
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(construct: IConstruct): string {
  const cfn = (construct.node.defaultChild ?? construct) as CfnElement;
  return Stack.of(cfn).resolve(cfn.logicalId) as string;
}

/** A CloudFormation value as one string: `{ Fn::GetAtt: [X, Arn] }` → `<X.Arn>`, `{ Ref: X }` → `<X>`, joins concatenated. */
export function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value !== null && typeof value === 'object') {
    const v = value as Record<string, unknown>;
    if (Array.isArray(v['Fn::Join'])) {
      const [delimiter, items] = v['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (Array.isArray(v['Fn::GetAtt'])) {
      const [resource, attribute] = v['Fn::GetAtt'] as [string, string];
      return `<${resource}.${attribute}>`;
    }
    if (typeof v.Ref === 'string') return `<${v.Ref}>`;
  }
  return JSON.stringify(value);
}

export interface Statement {
  readonly effect: 'Allow' | 'Deny';
  readonly actions: readonly string[];
  readonly resources: readonly string[];
  readonly condition?: Record<string, Record<string, unknown>>;
}

const list = <T>(x: T | readonly T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? [...(x as T[])] : [x as T]);

function statementsOfDocument(doc: unknown): Statement[] {
  const statements = (doc as { Statement?: unknown[] }).Statement ?? [];
  return statements.map((s) => {
    const st = s as { Effect: 'Allow' | 'Deny'; Action?: string | string[]; Resource?: unknown; Condition?: Record<string, Record<string, unknown>> };
    return {
      effect: st.Effect,
      actions: list(st.Action),
      resources: list(st.Resource as unknown).map(flatten),
      ...(st.Condition === undefined ? {} : { condition: st.Condition }),
    };
  });
}

/** Every statement of every policy attached to a role (inline policies and AWS::IAM::Policy resources). */
export function roleStatements(json: TemplateJson, roleLogicalId: string): Statement[] {
  const out: Statement[] = [];
  const role = json.Resources[roleLogicalId];
  if (role === undefined) throw new Error(`no role ${roleLogicalId}`);
  for (const p of list((role.Properties?.Policies ?? []) as unknown[])) out.push(...statementsOfDocument((p as { PolicyDocument: unknown }).PolicyDocument));
  for (const r of Object.values(json.Resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const roles = list(r.Properties?.Roles as unknown[]).map(flatten);
    if (roles.includes(`<${roleLogicalId}>`)) out.push(...statementsOfDocument(r.Properties?.PolicyDocument));
  }
  return out;
}

/** The statements of a managed policy. */
export function managedPolicyStatements(json: TemplateJson, policyLogicalId: string): Statement[] {
  const policy = json.Resources[policyLogicalId];
  if (policy?.Type !== 'AWS::IAM::ManagedPolicy') throw new Error(`no managed policy ${policyLogicalId}`);
  return statementsOfDocument(policy.Properties?.PolicyDocument);
}

/** IAM's wildcard match: `*` any run of characters, `?` one. */
export function globMatch(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );
  return re.test(value);
}

/**
 * Whether the statements allow `action` on `resource` with these condition keys, as IAM
 * would: some Allow matches and no Deny does. Conditions understood: StringLike, StringEquals
 * and ForAllValues:StringLike; a statement with any other condition never matches.
 */
export function allows(statements: readonly Statement[], action: string, resource: string, keys: Readonly<Record<string, string | readonly string[]>> = {}): boolean {
  const matches = (s: Statement) => s.actions.some((a) => globMatch(a, action)) && s.resources.some((r) => globMatch(r, resource)) && conditionHolds(s.condition, keys);
  return statements.some((s) => s.effect === 'Allow' && matches(s)) && !statements.some((s) => s.effect === 'Deny' && matches(s));
}

function conditionHolds(condition: Statement['condition'], keys: Readonly<Record<string, string | readonly string[]>>): boolean {
  if (condition === undefined) return true;
  return Object.entries(condition).every(([operator, tests]) =>
    Object.entries(tests).every(([key, expected]) => {
      const patterns = list(expected as string | string[]);
      const actual = keys[key];
      if (operator === 'StringLike' || operator === 'StringEquals') {
        if (actual === undefined || Array.isArray(actual)) return false;
        return patterns.some((p) => (operator === 'StringLike' ? globMatch(p, actual as string) : p === actual));
      }
      if (operator === 'ForAllValues:StringLike') {
        return list(actual as string | string[] | undefined).every((v) => patterns.some((p) => globMatch(p, v)));
      }
      return false;
    }),
  );
}

/** Read-only IAM actions: what a `*` resource may be granted. */
export function isReadOnlyAction(action: string): boolean {
  return /^[a-z0-9-]+:(Get|List|Describe|BatchGet|Query|Scan|Head)/.test(action);
}
