/**
 * cdk-nag acknowledgements that name one finding exactly. cdk-nag reports a wildcard resource
 * as `AwsSolutions-IAM5[Resource::<LogicalId.Arn>/prefix/*]`; acknowledging that id (rather
 * than the whole rule) keeps every other wildcard a finding.
 */
import { Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IConstruct } from 'constructs';

/** How cdk-nag spells a GetAtt Arn of `resource`'s CloudFormation resource. */
export function arnReference(resource: IConstruct): string {
  const cfn = resource.node.defaultChild as CfnElement | undefined;
  if (cfn === undefined) throw new Error(`${resource.node.path} has no CloudFormation resource`);
  return `<${Stack.of(cfn).getLogicalId(cfn)}.Arn>`;
}

/**
 * Acknowledge the IAM5 finding of each `prefix*` object ARN of `bucket` in the policies of
 * `grantee` (a function: its role; a managed policy: itself), each with its reason.
 */
export function acknowledgeObjectWildcards(grantee: IConstruct & { readonly role?: IConstruct | undefined }, bucket: IBucket, reasons: Readonly<Record<string, string>>): void {
  const target = grantee.role ?? grantee;
  const bucketArn = arnReference(bucket);
  for (const [prefix, reason] of Object.entries(reasons)) {
    Validations.of(target).acknowledge({ id: `AwsSolutions-IAM5[Resource::${bucketArn}/${prefix}*]`, reason });
  }
}
