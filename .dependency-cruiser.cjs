/**
 * The layer rules of the house (docs/design.md, "Layers"), checked by `npm test` before any
 * test runs: a change that breaks one fails the build. Run alone: `npm run lint:layers`.
 */
const IO_BUILTINS = '^(node:)?(fs|fs/promises|http|https|http2|net|tls|dgram|child_process)$';

module.exports = {
  forbidden: [
    { name: 'no-circular', comment: 'No import loops: a loop means two modules are one, or a piece sits in the wrong one.', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'core-is-pure',
      comment: 'functions/core decides and does no I/O: only the core itself, libphonenumber-js, zod and Node built-ins that do no I/O.',
      severity: 'error',
      from: { path: '^functions/core/' },
      to: { pathNot: ['^functions/core/', 'node_modules/(libphonenumber-js|zod)/'], dependencyTypesNot: ['core'] },
    },
    { name: 'core-does-no-io', severity: 'error', from: { path: '^functions/core/' }, to: { dependencyTypes: ['core'], path: IO_BUILTINS } },
    {
      name: 'adapters-point-inward',
      comment: 'Adapters implement the core\'s ports; they know nothing of services, handlers or the apps around them.',
      severity: 'error',
      from: { path: '^functions/adapters/' },
      to: { path: '^(functions/(services|handlers)|infra|local|cli|bench|test|scripts)/' },
    },
    {
      name: 'services-use-ports',
      comment: 'Services reach storage and the bucket through the core\'s ports, never a storage adapter; nor the handlers or apps.',
      severity: 'error',
      from: { path: '^functions/services/' },
      to: { path: ['^functions/adapters/(dynamodb|s3)/', '^functions/handlers/', '^(infra|local|cli|bench|test|scripts)/'] },
    },
    {
      name: 'functions-stand-alone',
      comment: 'What is deployed never imports the CDK app, the local stack, the CLI, benchmarks or tests.',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: '^(infra|local|cli|bench|test|scripts)/' },
    },
    {
      name: 'infra-is-the-cdk-app',
      comment: 'The CDK app reads names and table definitions from functions/, not the local stack, CLI or services.',
      severity: 'error',
      from: { path: '^infra/' },
      to: { path: ['^(local|cli|bench|test|scripts)/', '^functions/(services|handlers)/'] },
    },
    { name: 'local-below-cli', severity: 'error', from: { path: '^local/' }, to: { path: '^(cli|bench|test|scripts)/' } },
    { name: 'cli-below-tests', severity: 'error', from: { path: '^cli/' }, to: { path: '^(bench|test|scripts)/' } },
  ],
  options: {
    // TypeScript 7 has no JavaScript API; swc parses the .ts files.
    parser: 'swc',
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
};
