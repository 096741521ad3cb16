/**
 * Where each value of a JSON document is: its line and its text, by path (`lockout.failures`,
 * `twilioAccountSids[0]`, the same spelling settings problems use), so that a report about a
 * settings file points at the line an admin must change and shows what is there.
 */

export interface JsonLocation {
  /** 1-based line of the value (of its key, for a member of an object). */
  readonly line: number;
  /** The value as written, cut short: `"US"`, `12`, `{…}`, `[…]`. */
  readonly value: string;
}

const MAX_VALUE = 80;

/** Every value's location, by path; the document itself is `(document)`. Empty for text that is not JSON. */
export function jsonLocations(text: string): Map<string, JsonLocation> {
  const out = new Map<string, JsonLocation>();
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  try {
    JSON.parse(text.slice(i));
  } catch {
    return out;
  }
  let line = 1;

  const skip = (): void => {
    while (i < text.length) {
      const c = text[i];
      if (c === '\n') line++;
      else if (c !== ' ' && c !== '\t' && c !== '\r') return;
      i++;
    }
  };
  const string = (): string => {
    const start = i;
    i++; // "
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return text.slice(start, i);
  };
  const join = (path: string, key: string | number): string =>
    typeof key === 'number' ? `${path === '(document)' ? '' : path}[${key}]` : path === '(document)' ? key : `${path}.${key}`;

  const value = (path: string, keyLine: number): void => {
    skip();
    const start = i;
    const at = keyLine;
    const c = text[i];
    if (c === '{') {
      i++;
      skip();
      if (text[i] === '}') i++;
      else {
        for (;;) {
          skip();
          const keyAt = line;
          const key = JSON.parse(string()) as string;
          skip();
          i++; // :
          value(join(path, key), keyAt);
          skip();
          if (text[i++] !== ',') break;
        }
      }
      out.set(path, { line: at, value: '{…}' });
      return;
    }
    if (c === '[') {
      i++;
      skip();
      if (text[i] === ']') i++;
      else {
        for (let n = 0; ; n++) {
          skip();
          value(join(path, n), line);
          skip();
          if (text[i++] !== ',') break;
        }
      }
      out.set(path, { line: at, value: '[…]' });
      return;
    }
    if (c === '"') string();
    else while (i < text.length && !',}] \t\r\n'.includes(text[i] as string)) i++;
    const raw = text.slice(start, i);
    out.set(path, { line: at, value: raw.length > MAX_VALUE ? `${raw.slice(0, MAX_VALUE - 1)}…` : raw });
  };

  try {
    skip();
    value('(document)', line);
  } catch {
    // Not JSON: the caller reports the syntax error itself.
    out.clear();
  }
  return out;
}

/** The location of a problem's path, or of the nearest enclosing value that is written (a missing key: its object). */
export function locate(locations: ReadonlyMap<string, JsonLocation>, path: string): JsonLocation & { readonly exact: boolean } {
  let p = path;
  for (;;) {
    const found = locations.get(p);
    if (found !== undefined) return { ...found, exact: p === path };
    const cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
    if (cut <= 0) return { ...(locations.get('(document)') ?? { line: 1, value: '' }), exact: false };
    p = p.slice(0, cut);
  }
}

/** A settings problem with where it is: the line to change, and the value written there (if the path is written). */
export interface LocatedProblem {
  readonly line: number;
  readonly path: string;
  readonly value: string;
  readonly message: string;
}

/**
 * Problems of a JSON document, each with its line and the value written there. A JSON syntax
 * error has no path; its line comes from the parser's own message.
 */
export function locateProblems(text: string, problems: readonly { readonly path: string; readonly message: string }[]): LocatedProblem[] {
  const where = jsonLocations(text);
  return problems.map((p) => {
    // An unknown key is reported on its object: point at the key itself.
    const unknown = /^unknown keys? "([^"]+)"/.exec(p.message)?.[1];
    if (unknown !== undefined) {
      const key = p.path === '(document)' ? unknown : `${p.path}.${unknown}`;
      const at = where.get(key);
      if (at !== undefined) return { line: at.line, path: p.path, value: '', message: p.message };
    }
    if (p.path === '(document)' && where.size === 0) {
      const line = /\bline (\d+)/.exec(p.message)?.[1];
      return { line: line === undefined ? 1 : Number(line), path: p.path, value: '', message: p.message };
    }
    const at = locate(where, p.path);
    return { line: at.line, path: p.path, value: at.exact ? at.value : '', message: p.message };
  });
}
