/**
 * Per-tenant access to the bucket: for each account, an admin managed policy (upload under
 * `imports/<account>/`, read `results/<account>/` and `exports/<account>/`) and a finance
 * managed policy (read `exports/<account>/` only). Every grant is a prefix that ends in
 * `<account>/`, so `acme` can never reach `acme-corp/`; listing is allowed for the same
 * prefixes only. Attach the policies to the roles, groups or permission sets of each tenant's
 * people.
 */
import { CfnOutput, Stack, Validations } from 'aws-cdk-lib';
import { ManagedPolicy, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ACCOUNT_SLUG } from '../../functions/core/identifiers.ts';
import { OBJECT_WRITE_ACTIONS } from './app-function.ts';
import { BUCKET_PREFIXES } from './data.ts';
import { arnReference } from './nag.ts';

export interface AccountAccessProps {
  readonly bucket: IBucket;
  /** Account slugs, e.g. `["acme"]`. */
  readonly accounts: readonly string[];
}

export interface AccountPolicies {
  /** Upload imports, read results and exports, of this account only. */
  readonly admin: ManagedPolicy;
  /** Read exports of this account only. */
  readonly finance: ManagedPolicy;
}

export class AccountAccess extends Construct {
  /** By account slug. */
  readonly policies: ReadonlyMap<string, AccountPolicies>;

  constructor(scope: Construct, id: string, props: AccountAccessProps) {
    super(scope, id);
    const { bucket } = props;
    const stack = Stack.of(this);
    const policies = new Map<string, AccountPolicies>();
    const outputIds = new Set<string>();

    for (const account of props.accounts) {
      if (!ACCOUNT_SLUG.test(account)) throw new Error(`"${account}" is not an account name (1-40 lower-case letters, digits or "-")`);
      if (policies.has(account)) throw new Error(`account "${account}" is listed twice`);
      const folder = (prefix: string) => `${prefix}${account}/`;
      const imports = folder(BUCKET_PREFIXES.imports);
      const results = folder(BUCKET_PREFIXES.results);
      const exports = folder(BUCKET_PREFIXES.exports);
      const listing = (prefixes: readonly string[]) =>
        new PolicyStatement({
          actions: ['s3:ListBucket'],
          resources: [bucket.bucketArn],
          // `prefix/*` matches `prefix/` itself too; without the trailing "/", "acme" would list "acme-corp".
          conditions: { StringLike: { 's3:prefix': prefixes.map((p) => `${p}*`) } },
        });
      const reading = (prefixes: readonly string[]) => new PolicyStatement({ actions: ['s3:GetObject'], resources: prefixes.map((p) => bucket.arnForObjects(`${p}*`)) });

      const scopeOf = new Construct(this, account);
      const admin = new ManagedPolicy(scopeOf, 'Admin', {
        description: `Tollgate (${stack.stackName}): admin of account ${account} — upload settings, codes and users files, read import reports and usage exports`,
        statements: [
          new PolicyStatement({ actions: [...OBJECT_WRITE_ACTIONS], resources: [bucket.arnForObjects(`${imports}*`)] }),
          reading([results, exports]),
          listing([imports, results, exports]),
        ],
      });
      const finance = new ManagedPolicy(scopeOf, 'Finance', {
        description: `Tollgate (${stack.stackName}): finance of account ${account} — read usage exports`,
        statements: [reading([exports]), listing([exports])],
      });
      policies.set(account, { admin, finance });

      const bucketArn = arnReference(bucket);
      const ack = (policy: ManagedPolicy, prefix: string, reason: string) =>
        Validations.of(policy).acknowledge({ id: `AwsSolutions-IAM5[Resource::${bucketArn}/${prefix}*]`, reason });
      ack(
        admin,
        imports,
        `The admins of ${account} upload settings, codes and users files of any name, but only under imports/${account}/: the folder is the tenant boundary (docs/data-model.md).`,
      );
      ack(admin, results, `The admins of ${account} read the import reports, named after each file, but only under results/${account}/: the folder is the tenant boundary.`);
      ack(admin, exports, `The admins of ${account} read the usage files, one per day and month, but only under exports/${account}/: the folder is the tenant boundary.`);
      ack(finance, exports, `Finance of ${account} reads the usage files, one per day and month, but only under exports/${account}/: the folder is the tenant boundary.`);

      const outputId = account.replace(/(^|-)([a-z0-9])/g, (_m, _d: string, c: string) => c.toUpperCase());
      if (outputIds.has(outputId)) throw new Error(`accounts "${account}" and another differ only in "-": their outputs would collide`);
      outputIds.add(outputId);
      new CfnOutput(stack, `Account${outputId}AdminPolicyArn`, { value: admin.managedPolicyArn, description: `Attach to the admins of account ${account}` });
      new CfnOutput(stack, `Account${outputId}FinancePolicyArn`, { value: finance.managedPolicyArn, description: `Attach to finance of account ${account}` });
    }
    this.policies = policies;
  }
}
