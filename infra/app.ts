/**
 * The CDK app (`cdk.json`: `npx tsx infra/app.ts`): one TollgateStack, its options from
 * context (infra/context.ts), and cdk-nag's AWS Solutions checks, which fail the synth on any
 * finding not acknowledged with a reason next to the resource.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ContextError, readTollgateContext } from './context.ts';
import { TollgateStack } from './tollgate-stack.ts';

const app = new App();
const { stackName, accounts, tracing, emergencyCallerId, ...options } = readTollgateContext(app.node);
if (emergencyCallerId === undefined) {
  // Every emergency <Dial> must carry a caller ID, even on a cold container with storage down.
  throw new ContextError(
    'context emergencyCallerId is required: the caller ID an emergency call carries when neither the user, the entry point nor the account has one (cdk deploy -c emergencyCallerId=+14155550100)',
  );
}
// No env: the stack deploys to the account and region of the credentials `cdk deploy` runs
// with, and synthesises offline without any.
new TollgateStack(app, stackName, { accounts, tracing, emergencyCallerId, ...options });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
