/**
 * A CloudFormation client that knows a few stacks and answers DescribeStacks as AWS does —
 * including the `ValidationError` for a stack that does not exist — so `--stack` is tested
 * without AWS.
 */
import type { DescribeStacksCommand, DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';
import type { CloudFormationPort } from '../../cli/aws-target.ts';

export interface FakeStack {
  readonly outputs: Readonly<Record<string, string>>;
  readonly status?: string;
}

export interface FakeCloudFormation extends CloudFormationPort {
  /** The StackName of every DescribeStacks, in order. */
  readonly described: string[];
}

export function fakeCloudFormation(
  stacks: Readonly<Record<string, FakeStack>>,
  options: { readonly region?: string; readonly regionError?: Error; readonly sendError?: Error } = {},
): FakeCloudFormation {
  const described: string[] = [];
  return {
    described,
    config: {
      region: async () => {
        if (options.regionError !== undefined) throw options.regionError;
        return options.region ?? 'eu-west-1';
      },
    },
    async send(command: DescribeStacksCommand): Promise<DescribeStacksCommandOutput> {
      const name = command.input.StackName ?? '';
      described.push(name);
      if (options.sendError !== undefined) throw options.sendError;
      const stack = stacks[name];
      if (stack === undefined) throw Object.assign(new Error(`Stack with id ${name} does not exist`), { name: 'ValidationError' });
      return {
        $metadata: { httpStatusCode: 200 },
        Stacks: [
          {
            StackName: name,
            StackStatus: (stack.status ?? 'CREATE_COMPLETE') as 'CREATE_COMPLETE',
            CreationTime: new Date('2026-11-01T00:00:00Z'),
            Outputs: Object.entries(stack.outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
          },
        ],
      };
    },
  };
}
