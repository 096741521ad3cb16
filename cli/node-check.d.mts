/** Types of node-check.mjs, which stays plain JavaScript so that it runs on any Node.js. */
export declare const MINIMUM_NODE: readonly [number, number];
export declare function nodeVersionProblem(version: string): string | undefined;
