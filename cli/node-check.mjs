// Plain JavaScript on purpose: this runs before any TypeScript file is loaded, so that a Node.js
// too old to strip types says so in one line instead of failing with ERR_UNKNOWN_FILE_EXTENSION.
// Imported first by cli/tollgate.mjs; run on its own by `npm start`, `npm test` and `npm run bench`.

/** The oldest Node.js that runs Tollgate's TypeScript directly (type stripping without a flag). */
export const MINIMUM_NODE = [22, 18];

/** Undefined when `version` (e.g. "v22.12.0") is new enough, else the one line to print. */
export function nodeVersionProblem(version) {
  const [major, minor] = String(version).replace(/^v/, '').split('.').map(Number);
  const [needMajor, needMinor] = MINIMUM_NODE;
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined;
  return `tollgate: needs Node.js ${needMajor}.${needMinor} or newer, and this is Node.js ${version}: install Node.js 22 LTS (https://nodejs.org/en/download, or "nvm install 22"), then run the command again`;
}

const problem = nodeVersionProblem(process.version);
if (problem !== undefined) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
