/** Settings problems point at the line to change and show what is written there. */
import { describe, expect, it } from 'vitest';
import { jsonLocations, locateProblems } from '../../functions/core/json-locate.ts';
import { parseSettingsText } from '../../functions/core/settings.ts';

const DOC = `{
  "account": "acme",
  "twilioAccountSids": [
    "ACnot-a-sid"
  ],
  "homeCountry": "US",
  "timeZone": "America/New_York",
  "lockout": { "failures": 0, "windowMinutes": 15, "lockMinutes": 60 },
  "calls": {
    "emergency": "required",
    "default": "free"
  },
  "prompts": { "noCode": "say \\"nothing\\"" }
}
`;

describe('where a settings problem is', () => {
  it('maps every value to its line and text, nested objects and lists included', () => {
    const at = jsonLocations(DOC);
    expect(at.get('account')).toEqual({ line: 2, value: '"acme"' });
    expect(at.get('twilioAccountSids[0]')).toEqual({ line: 4, value: '"ACnot-a-sid"' });
    expect(at.get('lockout.failures')).toEqual({ line: 8, value: '0' });
    expect(at.get('calls.emergency')).toEqual({ line: 10, value: '"required"' });
    expect(at.get('prompts.noCode')).toEqual({ line: 13, value: '"say \\"nothing\\""' });
  });

  it('gives each schema problem the real line and value, a missing key its object’s line, a syntax error its line', () => {
    const result = parseSettingsText(DOC);
    if (result.ok) throw new Error('the document should not validate');
    const located = locateProblems(DOC, result.problems);
    expect(located).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: 'twilioAccountSids[0]', line: 4, value: '"ACnot-a-sid"' }),
        expect.objectContaining({ path: 'lockout.failures', line: 8, value: '0' }),
        expect.objectContaining({ path: 'calls.emergency', line: 10, value: '"required"' }),
      ]),
    );
    const missing = parseSettingsText('{\n  "account": "acme",\n  "homeCountry": "US",\n  "timeZone": "UTC"\n}');
    if (missing.ok) throw new Error('twilioAccountSids is required');
    expect(locateProblems('{\n  "account": "acme",\n  "homeCountry": "US",\n  "timeZone": "UTC"\n}', missing.problems)[0]).toMatchObject({
      path: 'twilioAccountSids',
      line: 1,
      value: '',
    });
    const broken = '{\n  "account": "acme",\n  "homeCountry": "US"\n  "timeZone": "UTC"\n}';
    const syntax = parseSettingsText(broken);
    if (syntax.ok) throw new Error('not JSON');
    expect(locateProblems(broken, syntax.problems)[0]?.line).toBe(4);
  });
});
