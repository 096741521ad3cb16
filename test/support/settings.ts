/**
 * The settings every suite starts from: a US account `acme` in New York with one Twilio
 * Account SID, parsed by the real schema (defaults applied), with whatever a suite adds.
 */
import { parseSettings, type Settings, type SettingsInput } from '../../functions/core/settings.ts';

export const TEST_ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';

/** `acme`'s settings with `patch` over them; a document the schema refuses fails the test at once. */
export function testSettings(patch: Partial<SettingsInput> | Record<string, unknown> = {}): Settings {
  const parsed = parseSettings({ account: 'acme', twilioAccountSids: [TEST_ACCOUNT_SID], homeCountry: 'US', timeZone: 'America/New_York', ...patch });
  if (!parsed.ok) throw new Error(`test settings are invalid: ${JSON.stringify(parsed.problems)}`);
  return parsed.value;
}
