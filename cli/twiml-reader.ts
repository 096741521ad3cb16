/**
 * A reader for the TwiML a voice webhook answers with: just enough XML for the verbs a call
 * placed through Tollgate meets (Say, Play, Pause, Gather, Dial with its nouns, Redirect,
 * Hangup, Reject). Used by the simulated caller to follow a call as Twilio would.
 */

export type Verb =
  | { readonly verb: 'Say'; readonly text: string }
  | { readonly verb: 'Play'; readonly url: string }
  | { readonly verb: 'Pause'; readonly seconds: number }
  | {
      readonly verb: 'Gather';
      readonly action: string | undefined;
      readonly numDigits: number | undefined;
      readonly finishOnKey: string;
      readonly timeout: number;
      readonly actionOnEmptyResult: boolean;
      readonly prompts: readonly Verb[];
    }
  | {
      readonly verb: 'Dial';
      readonly action: string | undefined;
      readonly callerId: string | undefined;
      readonly target: { readonly kind: 'number' | 'client' | 'sip'; readonly value: string };
    }
  | { readonly verb: 'Redirect'; readonly url: string }
  | { readonly verb: 'Hangup' }
  | { readonly verb: 'Reject' };

interface Node {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: Node[];
  text: string;
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
function decode(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|lt|gt|amp|quot|apos);/gi, (_m, e: string) => {
    if (e.startsWith('#x') || e.startsWith('#X')) return String.fromCodePoint(parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(parseInt(e.slice(1), 10));
    return ENTITIES[e.toLowerCase()] ?? '';
  });
}

/** XML text → element tree. Throws on markup it cannot follow. */
function parseXml(xml: string): Node {
  const root: Node = { name: '#root', attrs: {}, children: [], text: '' };
  const stack: Node[] = [root];
  const token = /<\?[^>]*\?>|<!--[\s\S]*?-->|<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>|([^<]+)/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = token.exec(xml)) !== null) {
    if (m.index !== consumed) throw new Error(`unreadable TwiML near "${xml.slice(consumed, consumed + 30)}"`);
    consumed = token.lastIndex;
    const [, closing, name, attrText, selfClosing, text] = m;
    const top = stack[stack.length - 1] as Node;
    if (text !== undefined) {
      top.text += decode(text);
    } else if (name !== undefined) {
      if (closing === '/') {
        if (top.name !== name) throw new Error(`TwiML closes <${name}> where <${top.name}> is open`);
        stack.pop();
      } else {
        const attrs: Record<string, string> = {};
        for (const a of (attrText ?? '').matchAll(/([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) attrs[a[1] as string] = decode(a[2] ?? a[3] ?? '');
        const node: Node = { name, attrs, children: [], text: '' };
        top.children.push(node);
        if (selfClosing !== '/') stack.push(node);
      }
    }
  }
  if (consumed !== xml.length || stack.length !== 1) throw new Error('TwiML ends before its elements are closed');
  return root;
}

function toVerb(node: Node): Verb | undefined {
  const a = node.attrs;
  switch (node.name) {
    case 'Say':
      return { verb: 'Say', text: node.text.trim() };
    case 'Play':
      return { verb: 'Play', url: node.text.trim() };
    case 'Pause':
      return { verb: 'Pause', seconds: Number(a.length ?? 1) };
    case 'Gather':
      return {
        verb: 'Gather',
        action: a.action,
        numDigits: a.numDigits === undefined ? undefined : Number(a.numDigits),
        finishOnKey: a.finishOnKey ?? '#',
        timeout: Number(a.timeout ?? 5),
        actionOnEmptyResult: a.actionOnEmptyResult === 'true',
        prompts: node.children.map(toVerb).filter((v): v is Verb => v !== undefined),
      };
    case 'Dial': {
      const noun = node.children.find((c) => c.name === 'Number' || c.name === 'Client' || c.name === 'Sip');
      const kind = noun === undefined ? 'number' : (noun.name.toLowerCase() as 'number' | 'client' | 'sip');
      const value = (noun === undefined ? node.text : noun.text).trim();
      return { verb: 'Dial', action: a.action, callerId: a.callerId, target: { kind, value } };
    }
    case 'Redirect':
      return { verb: 'Redirect', url: node.text.trim() };
    case 'Hangup':
      return { verb: 'Hangup' };
    case 'Reject':
      return { verb: 'Reject' };
    default:
      return undefined;
  }
}

/** The verbs of a TwiML `<Response>`, in order. */
export function readTwiml(xml: string): Verb[] {
  const root = parseXml(xml);
  const response = root.children.find((c) => c.name === 'Response');
  if (response === undefined) throw new Error('the answer is not TwiML: it has no <Response>');
  return response.children.map(toVerb).filter((v): v is Verb => v !== undefined);
}
