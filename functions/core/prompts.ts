/**
 * What the caller hears, in the caller's language (docs/settings.md, "prompts"). Defaults are
 * short, say the code's rules (how many digits, `#` to finish) and never why a code failed.
 * Each language ships its texts and a Twilio `<Say>` voice; settings may override any text, for
 * the account's language at the top of `prompts` and for any language under its tag
 * (`"es-US": { … }`). `{digits}` in a text becomes the length rule ("4 to 6" or "5").
 */
import type { PromptKey, PromptSettings } from './settings.ts';
import type { PromptLanguage } from './types.ts';

export type Prompts = Readonly<Record<PromptKey, string>>;

const TEXTS: Readonly<Record<PromptLanguage, Prompts>> = {
  'en-US': {
    accountCode: 'Please enter your {digits} digit account code, then press pound.',
    optionalCode: 'Enter your {digits} digit account code, then press pound. Or press pound now to continue without one.',
    authorizationCode: 'This call needs an authorization code. Please enter your {digits} digit code, then press pound.',
    invalidCode: 'That code was not accepted. Please try again.',
    tooManyAttempts: 'Sorry, that code was not accepted, and there are no attempts left. Goodbye.',
    noCode: 'No code was entered. Please try again.',
    noCodeNoAttempts: 'Sorry, no code was entered, and there are no attempts left. Goodbye.',
    notPermitted: 'Sorry, you are not permitted to make this call. Goodbye.',
    lockedOut: 'Code entry is locked for your line after too many failed attempts. Please contact your administrator. Goodbye.',
    noCalls: 'Sorry, this number does not take calls. Goodbye.',
    error: 'Sorry, we could not complete your call. Please try again later. Goodbye.',
    afterCallCode: 'To tag the call you just made, enter its {digits} digit account code, then press pound. Or hang up.',
    afterCallThanks: 'Thank you, the call is tagged. Goodbye.',
    afterCallInvalid: 'That code was not accepted. Goodbye.',
  },
  'es-US': {
    accountCode: 'Marque su código de cuenta de {digits} dígitos y luego la tecla numeral.',
    optionalCode: 'Marque su código de cuenta de {digits} dígitos y luego la tecla numeral. O marque numeral ahora para continuar sin código.',
    authorizationCode: 'Esta llamada requiere un código de autorización. Marque su código de {digits} dígitos y luego la tecla numeral.',
    invalidCode: 'Ese código no fue aceptado. Inténtelo de nuevo.',
    tooManyAttempts: 'Lo sentimos, ese código no fue aceptado y no quedan más intentos. Adiós.',
    noCode: 'No se marcó ningún código. Inténtelo de nuevo.',
    noCodeNoAttempts: 'Lo sentimos, no se marcó ningún código y no quedan más intentos. Adiós.',
    notPermitted: 'Lo sentimos, no tiene permiso para hacer esta llamada. Adiós.',
    lockedOut: 'El ingreso de códigos está bloqueado en su línea por demasiados intentos fallidos. Comuníquese con su administrador. Adiós.',
    noCalls: 'Lo sentimos, este número no recibe llamadas. Adiós.',
    error: 'Lo sentimos, no pudimos completar su llamada. Inténtelo más tarde. Adiós.',
    afterCallCode: 'Para asignar la llamada que acaba de hacer, marque su código de cuenta de {digits} dígitos y luego la tecla numeral. O cuelgue.',
    afterCallThanks: 'Gracias, la llamada quedó asignada. Adiós.',
    afterCallInvalid: 'Ese código no fue aceptado. Adiós.',
  },
  'fr-CA': {
    accountCode: 'Veuillez entrer votre code de compte de {digits} chiffres, puis le carré.',
    optionalCode: 'Entrez votre code de compte de {digits} chiffres, puis le carré. Ou appuyez sur le carré maintenant pour continuer sans code.',
    authorizationCode: "Cet appel exige un code d'autorisation. Veuillez entrer votre code de {digits} chiffres, puis le carré.",
    invalidCode: "Ce code n'a pas été accepté. Veuillez réessayer.",
    tooManyAttempts: "Désolé, ce code n'a pas été accepté et il ne reste plus d'essais. Au revoir.",
    noCode: "Aucun code n'a été entré. Veuillez réessayer.",
    noCodeNoAttempts: "Désolé, aucun code n'a été entré et il ne reste plus d'essais. Au revoir.",
    notPermitted: "Désolé, vous n'êtes pas autorisé à faire cet appel. Au revoir.",
    lockedOut: "La saisie des codes est bloquée sur votre ligne après trop d'essais infructueux. Veuillez communiquer avec votre administrateur. Au revoir.",
    noCalls: "Désolé, ce numéro ne reçoit pas d'appels. Au revoir.",
    error: "Désolé, nous n'avons pas pu acheminer votre appel. Veuillez réessayer plus tard. Au revoir.",
    afterCallCode: "Pour associer l'appel que vous venez de faire, entrez son code de compte de {digits} chiffres, puis le carré. Ou raccrochez.",
    afterCallThanks: "Merci, l'appel est associé. Au revoir.",
    afterCallInvalid: "Ce code n'a pas été accepté. Au revoir.",
  },
};

/** The Twilio `<Say>` voice of each language (Amazon Polly voices Twilio offers for it). */
export const DEFAULT_VOICES: Readonly<Record<PromptLanguage, string>> = { 'en-US': 'Polly.Joanna', 'es-US': 'Polly.Lupe', 'fr-CA': 'Polly.Chantal' };

/** How "from min to max" is said in each language. */
const RANGE_WORD: Readonly<Record<PromptLanguage, string>> = { 'en-US': 'to', 'es-US': 'a', 'fr-CA': 'à' };

/** The length rule as spoken: "5" for a fixed length, "4 to 6" (or "4 a 6", "4 à 6") otherwise. */
export function spokenLength(length: { readonly min: number; readonly max: number }, language: PromptLanguage = 'en-US'): string {
  return length.min === length.max ? String(length.min) : `${length.min} ${RANGE_WORD[language]} ${length.max}`;
}

/** The language a call's prompts are in: the one asked for, else the account's, else English. */
function languageOf(prompts: Partial<PromptSettings> | undefined, language: PromptLanguage | undefined): PromptLanguage {
  return language ?? prompts?.language ?? 'en-US';
}

/** The overrides that apply to `language`: the account language's at the top of `prompts`, then those under its tag. */
function overridesFor(prompts: Partial<PromptSettings> | undefined, language: PromptLanguage): Partial<Record<PromptKey | 'voice', string>> {
  const top = prompts !== undefined && languageOf(prompts, undefined) === language ? prompts : {};
  return { ...top, ...(prompts?.[language] ?? {}) } as Partial<Record<PromptKey | 'voice', string>>;
}

/** The prompt texts of a call with defaults filled in and `{digits}` expanded, in `language` (default: the account's). */
export function resolvePrompts(prompts: Partial<PromptSettings> | undefined, length: { readonly min: number; readonly max: number }, language?: PromptLanguage): Prompts {
  const lang = languageOf(prompts, language);
  const digits = spokenLength(length, lang);
  const overrides = overridesFor(prompts, lang);
  const out = {} as Record<PromptKey, string>;
  for (const key of Object.keys(TEXTS[lang]) as PromptKey[]) {
    out[key] = (overrides[key] ?? TEXTS[lang][key]).replaceAll('{digits}', digits);
  }
  return out;
}

/** How `<Say>` speaks a call's prompts: its language, and that language's voice (an override, or the language's own). */
export function speechFor(prompts: Partial<PromptSettings> | undefined, language?: PromptLanguage): { readonly language: PromptLanguage; readonly voice: string } {
  const lang = languageOf(prompts, language);
  return { language: lang, voice: overridesFor(prompts, lang).voice ?? DEFAULT_VOICES[lang] };
}

/** Default texts, for use where no settings could be loaded (fallback, unknown account). */
export const DEFAULT_PROMPTS: Prompts = resolvePrompts(undefined, { min: 4, max: 6 });
export const DEFAULT_SPEECH = { language: 'en-US', voice: 'Polly.Joanna' } as const;
