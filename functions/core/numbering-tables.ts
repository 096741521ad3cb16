/**
 * Curated short-number tables for call classification (docs/security.md). libphonenumber does not
 * parse short numbers (911, 112, 999, 411, 118 118): these tables are the only source for
 * them. Pure data, keyed by ISO 3166-1 alpha-2 home country.
 *
 * Emergency numbers — sources:
 * - ITU-T E.164 Supplement and the ITU Operational Bulletin annex "List of emergency numbers"
 *   (national numbers as notified by administrations);
 * - EU: 112 as the single European emergency number, Universal Service Directive 2002/22/EC
 *   art. 26 (now European Electronic Communications Code, Directive (EU) 2018/1972 art. 109);
 * - US: 911 and Kari's Law, 47 CFR 9.16 (direct dialling of 911 with no prefix, code or
 *   post-fix — why emergency must be recognised before anything asks for a code);
 * - national regulators' numbering plans (Ofcom, ACMA, BNetzA, ARCEP, AGCOM, CNMC, BAKOM,
 *   RTR, MIC Japan, DoT India, …).
 *
 * Erring towards inclusion is deliberate: a number wrongly listed here is merely dialled
 * free (short codes are not chargeable routes); a number missing from here can be delayed by
 * a code prompt. 911 and 112 are emergency from every home country (most GSM networks route
 * both anywhere) and are not repeated per country.
 *
 * Not emergency, on purpose: US/CA 933 (the 911 address read-back test line). Outside-line
 * prefix forms (`9911`) are emergency calls through the account's `outsideLinePrefix`
 * (emergency.ts), not through this table.
 */

/** Emergency from every home country. */
export const UNIVERSAL_EMERGENCY: ReadonlySet<string> = new Set(['911', '112']);

/** Each country's own emergency short numbers, as dialled nationally (911/112 implied). */
export const EMERGENCY_NUMBERS: ReadonlyMap<string, ReadonlySet<string>> = table({
  // North America and the Caribbean (NANP members use 911 unless listed)
  US: [],
  CA: [],
  JM: ['110', '119'],
  MX: [],
  // South America
  AR: ['100', '101', '107'],
  BR: ['190', '191', '192', '193', '199'],
  CL: ['131', '132', '133'],
  CO: ['123'],
  PE: ['105', '106', '116'],
  // Europe
  GB: ['999'],
  IE: ['999'],
  DE: ['110'],
  FR: ['15', '17', '18', '114', '115', '119', '191', '196'],
  IT: ['113', '115', '117', '118', '1515', '1530'],
  ES: ['061', '062', '080', '085', '088', '091', '092'],
  PT: [],
  NL: [],
  BE: ['100', '101'],
  LU: ['113'],
  CH: ['117', '118', '144', '145', '1414', '1415'],
  AT: ['122', '133', '140', '144'],
  SE: [],
  NO: ['110', '113'],
  DK: [],
  FI: [],
  IS: [],
  PL: ['997', '998', '999'],
  CZ: ['150', '155', '156', '158'],
  SK: ['150', '155', '158'],
  HU: ['104', '105', '107'],
  RO: [],
  BG: ['150', '160', '166'],
  GR: ['100', '108', '166', '199'],
  HR: ['192', '193', '194', '195'],
  SI: ['113'],
  RS: ['192', '193', '194'],
  UA: ['101', '102', '103', '104'],
  RU: ['101', '102', '103', '104'],
  TR: ['110', '155', '156', '158'],
  // Middle East and Africa
  IL: ['100', '101', '102', '104'],
  AE: ['997', '998', '999'],
  SA: ['997', '998', '999'],
  EG: ['122', '123', '180'],
  ZA: ['10111', '10177'],
  NG: ['199'],
  KE: ['999'],
  // Asia
  IN: ['100', '101', '102', '108'],
  PK: ['15', '16', '115', '1122'],
  BD: ['999'],
  CN: ['110', '119', '120', '122'],
  HK: ['999'],
  TW: ['110', '119'],
  KR: ['119'],
  JP: ['110', '118', '119'],
  SG: ['995', '999'],
  MY: ['994', '999'],
  TH: ['191', '199', '1669'],
  ID: ['110', '113', '118', '119'],
  PH: ['117'],
  VN: ['113', '114', '115'],
  // Oceania
  AU: ['000', '106'],
  NZ: ['111'],
});

/**
 * Directory enquiries and operator assistance, as dialled nationally, one pattern per country.
 * Sources: NANPA / FCC (N11 codes; 411 and NPA-555-1212 directory assistance, 0/00
 * operator); Ofcom National Telephone Numbering Plan (118 XXX directory, 100 operator, 155
 * international operator — 123, the speaking clock, is not directory and stays out); ComReg
 * Numbering Conventions (118 XX); ACMA Telecommunications Numbering Plan 2015 (1223, 1225);
 * NZ Telecommunications Forum numbering (010/0170 operator, 018/0172 directory); BNetzA
 * (118xy, 1180xy); ARCEP (118 XYZ); RTR (118xyz); BAKOM (18xy); CNMC (118AB); AGCOM (12xy);
 * ACM (18xy); BIPT (1207, 1307); PTS (118 xyz); Nkom (18xy); UKE (118 xyz); MIC Japan (104);
 * DoT India (197); ICASA (1023); MIIT China (114); IFT Mexico (040); Anatel (102).
 *
 * NANP directory assistance also comes as `+1 NPA 555 1212`, a valid number for
 * libphonenumber: see {@link NANP_DIRECTORY_E164}.
 */
export const DIRECTORY_NUMBERS: ReadonlyMap<string, RegExp> = new Map([
  ['GB', /^(?:118\d{3}|100|155)$/],
  ['IE', /^(?:118\d{2}|10|114)$/],
  ['AU', /^(?:1223|1225)$/],
  ['NZ', /^(?:010|0170|018|0172)$/],
  ['DE', /^(?:118\d{2}|1180\d{2})$/],
  ['FR', /^118\d{3}$/],
  ['AT', /^118\d{3}$/],
  ['CH', /^18\d{2}$/],
  ['ES', /^118\d{2}$/],
  ['IT', /^12\d{2}$/],
  ['NL', /^18\d{2}$/],
  ['BE', /^(?:1207|1307)$/],
  ['SE', /^118\d{3}$/],
  ['NO', /^18\d{2}$/],
  ['DK', /^118$/],
  ['FI', /^118$/],
  ['PL', /^118\d{3}$/],
  ['JP', /^104$/],
  ['IN', /^197$/],
  ['ZA', /^1023$/],
  ['CN', /^114$/],
  ['MX', /^040$/],
  ['BR', /^102$/],
]);

/** Every NANP home country (calling code 1): 0 and 00 operator, 411 and 1 411 directory. */
export const NANP_DIRECTORY = /^(?:0|00|411|1411)$/;

/** NANP directory assistance in E.164: `+1 NPA 555 1212` (a valid number to libphonenumber). */
export const NANP_DIRECTORY_E164 = /^\+1[2-9]\d{2}5551212$/;

/**
 * US territories with their own libphonenumber region (PR, VI, GU, MP, AS): domestic to a US
 * account and to each other, as US carriers bill them. Canada is domestic to the US proper
 * only. Every other region sharing a calling code — the Caribbean NANP members, and likewise
 * the Crown dependencies (GG, JE, IM) under +44 — is international: those are the classic
 * toll-fraud routes docs/security.md singles out.
 */
export const US_AND_TERRITORIES: ReadonlySet<string> = new Set(['US', 'PR', 'VI', 'GU', 'MP', 'AS']);

function table(rows: Record<string, readonly string[]>): ReadonlyMap<string, ReadonlySet<string>> {
  return new Map(Object.entries(rows).map(([country, numbers]) => [country, new Set(numbers)]));
}
