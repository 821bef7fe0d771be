// The semantic-cache guard: sentence embeddings place "Is port 5432 open?" and "Is port 5433
// open?" (or "… not open?", or "… in Berlin" vs "… in Paris") almost on top of each other, yet
// the answers differ. Before a similar cached question may answer a new one, the two texts must
// agree on negations, numbers, named entities and the words of a small antonym list; any
// disagreement refuses the hit. Refusing costs one upstream call; a wrong hit costs a wrong answer.

export type GuardReason = 'negation' | 'number' | 'entity' | 'antonym';

export interface GuardVerdict {
  ok: boolean;
  reason?: GuardReason;
}

const NEGATIONS = new Set([
  'not', 'no', 'never', 'none', 'nobody', 'nothing', 'neither', 'nor', 'nowhere', 'without', 'cannot', 'cant', 'dont', 'doesnt',
  'didnt', 'isnt', 'arent', 'wasnt', 'werent', 'wont', 'wouldnt', 'shouldnt', 'couldnt', 'hasnt', 'havent', 'hadnt', 'mustnt',
  'neednt', 'aint', 'unless', 'except', 'excluding', 'lacks', 'lacking',
]);

/** Negation tokens normalised so that "isn't" and "is not" agree, while "no" and "never" stay apart. */
function negationOf(token: string): string | undefined {
  if (token.endsWith("n't") || token.endsWith('n’t')) return 'not';
  const bare = token.replace(/['’]/g, '');
  if (!NEGATIONS.has(bare)) return undefined;
  return bare.endsWith('nt') || bare === 'cannot' || bare === 'not' ? 'not' : bare;
}

const NUMBER_WORDS: Record<string, number> = {
  // "one" is left out: "by one key" and "by a key" mean the same.
  zero: 0, two: 2, three: 3, four: 4, five: 5, six: 6, seven: 7, eight: 8, nine: 9, ten: 10, eleven: 11, twelve: 12,
  thirteen: 13, fourteen: 14, fifteen: 15, sixteen: 16, seventeen: 17, eighteen: 18, nineteen: 19, twenty: 20, thirty: 30,
  forty: 40, fifty: 50, sixty: 60, seventy: 70, eighty: 80, ninety: 90, hundred: 100, thousand: 1000, million: 1e6, billion: 1e9,
  dozen: 12, half: 0.5, twice: 2, double: 2, triple: 3, first: 1, second: 2, third: 3, fourth: 4, fifth: 5, tenth: 10,
};

// Pairs whose swap flips the meaning while keeping the sentence's shape (and its embedding).
// Each group lists the inflections that count as the same side.
const ANTONYM_PAIRS: ReadonlyArray<readonly [string[], string[]]> = [
  [['increase', 'increases', 'increased', 'increasing', 'raise', 'raises', 'raised', 'raising'], ['decrease', 'decreases', 'decreased', 'decreasing', 'lower', 'lowers', 'lowered', 'lowering', 'reduce', 'reduces', 'reduced', 'reducing']],
  [['enable', 'enables', 'enabled', 'enabling'], ['disable', 'disables', 'disabled', 'disabling']],
  [['add', 'adds', 'added', 'adding'], ['remove', 'removes', 'removed', 'removing', 'delete', 'deletes', 'deleted', 'deleting']],
  [['start', 'starts', 'started', 'starting'], ['stop', 'stops', 'stopped', 'stopping']],
  [['open', 'opens', 'opened', 'opening'], ['close', 'closes', 'closed', 'closing', 'shut']],
  [['allow', 'allows', 'allowed', 'allowing', 'permit', 'permits', 'permitted'], ['deny', 'denies', 'denied', 'denying', 'block', 'blocks', 'blocked', 'blocking', 'forbid', 'forbids', 'forbidden']],
  [['accept', 'accepts', 'accepted', 'accepting'], ['reject', 'rejects', 'rejected', 'rejecting']],
  [['include', 'includes', 'included', 'including'], ['exclude', 'excludes', 'excluded']],
  [['buy', 'buys', 'buying', 'bought'], ['sell', 'sells', 'selling', 'sold']],
  [['import', 'imports', 'imported', 'importing'], ['export', 'exports', 'exported', 'exporting']],
  [['upload', 'uploads', 'uploaded', 'uploading'], ['download', 'downloads', 'downloaded', 'downloading']],
  [['encrypt', 'encrypts', 'encrypted', 'encrypting', 'encryption'], ['decrypt', 'decrypts', 'decrypted', 'decrypting', 'decryption']],
  [['push', 'pushes', 'pushed', 'pushing'], ['pull', 'pulls', 'pulled', 'pulling']],
  [['win', 'wins', 'won', 'winning'], ['lose', 'loses', 'lost', 'losing']],
  [['before'], ['after']],
  [['above', 'over'], ['below', 'under']],
  [['inside', 'internal'], ['outside', 'external']],
  [['input', 'inputs'], ['output', 'outputs']],
  [['more'], ['less', 'fewer']],
  [['most'], ['least', 'fewest']],
  [['maximum', 'max', 'maximize', 'maximise'], ['minimum', 'min', 'minimize', 'minimise']],
  [['highest', 'higher', 'high'], ['lowest', 'low']],
  [['largest', 'larger', 'large', 'biggest', 'bigger', 'big'], ['smallest', 'smaller', 'small']],
  [['longest', 'longer', 'long'], ['shortest', 'shorter', 'short']],
  [['fastest', 'faster', 'fast', 'quick', 'quickly'], ['slowest', 'slower', 'slow', 'slowly']],
  [['best', 'better', 'good'], ['worst', 'worse', 'bad']],
  [['cheapest', 'cheaper', 'cheap'], ['expensive', 'costlier', 'priciest']],
  [['hot', 'hotter', 'hottest', 'warm', 'warmer'], ['cold', 'colder', 'coldest', 'cool', 'cooler']],
  [['first', 'earliest', 'oldest'], ['last', 'latest', 'newest']],
  [['old', 'older'], ['new', 'newer', 'young', 'younger']],
  [['true'], ['false']],
  [['positive'], ['negative']],
  [['left'], ['right']],
  [['north', 'northern'], ['south', 'southern']],
  [['east', 'eastern'], ['west', 'western']],
  [['up', 'upper'], ['down', 'lower']],
  [['ascending'], ['descending']],
  [['success', 'successful', 'succeed', 'succeeds', 'succeeded'], ['failure', 'fail', 'fails', 'failed', 'failing']],
  [['safe', 'safer', 'safest', 'secure'], ['unsafe', 'dangerous', 'insecure', 'risky']],
  [['possible'], ['impossible']],
  [['legal'], ['illegal']],
  [['valid'], ['invalid']],
  [['like', 'likes', 'liked'], ['dislike', 'dislikes', 'disliked', 'hate', 'hates', 'hated']],
  [['love', 'loves', 'loved'], ['hate', 'hates', 'hated']],
  [['agree', 'agrees', 'agreed'], ['disagree', 'disagrees', 'disagreed']],
  [['advantage', 'advantages', 'benefit', 'benefits', 'pros', 'strength', 'strengths'], ['disadvantage', 'disadvantages', 'drawback', 'drawbacks', 'cons', 'weakness', 'weaknesses']],
  [['easy', 'easier', 'easiest', 'simple'], ['hard', 'harder', 'hardest', 'difficult']],
  [['happy'], ['sad', 'unhappy']],
  [['always'], ['sometimes', 'rarely', 'seldom']],
  [['all', 'every'], ['some', 'any']],
  [['lock', 'locks', 'locked', 'locking'], ['unlock', 'unlocks', 'unlocked', 'unlocking']],
  [['install', 'installs', 'installed', 'installing'], ['uninstall', 'uninstalls', 'uninstalled', 'uninstalling']],
  [['upgrade', 'upgrades', 'upgraded', 'upgrading'], ['downgrade', 'downgrades', 'downgraded', 'downgrading']],
  [['synchronous', 'sync'], ['asynchronous', 'async']],
  [['public'], ['private']],
  [['light', 'lighter'], ['dark', 'darker', 'heavy', 'heavier']],
  [['wet'], ['dry']],
  [['rich', 'richer'], ['poor', 'poorer']],
  [['strong', 'stronger'], ['weak', 'weaker']],
  [['men', 'man', 'male', 'boys', 'boy'], ['women', 'woman', 'female', 'girls', 'girl']],
  [['day', 'daytime'], ['night', 'nighttime']],
  [['summer'], ['winter']],
];

const ANTONYM_SIDE = new Map<string, Array<{ pair: number; side: 0 | 1 }>>();
ANTONYM_PAIRS.forEach(([a, b], pair) => {
  for (const [words, side] of [[a, 0], [b, 1]] as const) {
    for (const w of words) {
      const list = ANTONYM_SIDE.get(w) ?? [];
      list.push({ pair, side });
      ANTONYM_SIDE.set(w, list);
    }
  }
});

// Capitalised words that begin a sentence for grammar's sake, not because they name something.
const COMMON_CAPITALISED = new Set(
  (
    'a an the this that these those there here it its i im ive id my me we our you your he she they them their his her what whats which who whom whose when where why how ' +
    'is are was were be been am do does did done can could would should will shall may might must have has had please tell show give explain describe list ' +
    'write summarise summarize compare find help make create get let lets use using define name in on at for from to of by with about into after before during ' +
    'if so and or but also then now just hey hi hello ok okay thanks thank quick short brief any some all each every one any is ' +
    'briefly simply again kindly need want wondering curious looking trying quickly roughly exactly generally usually according ' +
    'translate sort convert recommend suggest provide calculate check fix run install build generate draft plan read send book set ' +
    'rewrite rephrase outline review analyse analyze'
  ).split(' '),
);

const TOKEN = /[\p{L}\p{N}][\p{L}\p{N}'’._-]*/gu;

interface Features {
  negations: Map<string, number>;
  numbers: Map<string, number>;
  entities: Set<string>;
  antonyms: Map<number, Set<0 | 1>>;
}

function bump<K>(m: Map<K, number>, k: K): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function normaliseNumber(raw: string): string {
  const n = Number(raw.replace(/,/g, ''));
  return Number.isFinite(n) ? String(n) : raw;
}

export function features(text: string): Features {
  const f: Features = { negations: new Map(), numbers: new Map(), entities: new Set(), antonyms: new Map() };
  // Sentence starts: the beginning, and after . ! ? : or a newline.
  const starts = new Set<number>([0]);
  for (const m of text.matchAll(/[.!?:\n]\s*/g)) starts.add(m.index + m[0].length);
  for (const m of text.matchAll(TOKEN)) {
    const raw = m[0].replace(/[._-]+$/, '');
    if (raw === '') continue;
    const lower = raw.toLowerCase();
    const neg = negationOf(lower);
    if (neg) bump(f.negations, neg);
    // Every run of digits, with separators and decimals ("1,024", "3.5", "v2" → 2, "5GB" → 5).
    for (const d of raw.matchAll(/\d+(?:[.,]\d+)*/g)) bump(f.numbers, normaliseNumber(d[0]));
    const word = NUMBER_WORDS[lower];
    if (word !== undefined) bump(f.numbers, String(word));
    for (const a of ANTONYM_SIDE.get(lower) ?? []) {
      const sides = f.antonyms.get(a.pair) ?? new Set<0 | 1>();
      sides.add(a.side);
      f.antonyms.set(a.pair, sides);
    }
    // Names: capitalised words (except a common word opening a sentence), words in capitals
    // with two or more letters, and identifiers mixing letters with digits, dots, _ or inner capitals.
    const first = raw[0]!;
    const capitalised = first !== first.toLowerCase();
    const atStart = starts.has(m.index);
    const identifier = /[\p{L}][\p{N}]|[\p{N}][\p{L}]|[._]|[\p{Ll}][\p{Lu}]/u.test(raw);
    // The pronoun "I" names nobody; a possessive names the same thing ("Chrome's" is Chrome).
    if (lower === 'i') continue;
    if ((capitalised && !(atStart && COMMON_CAPITALISED.has(lower.replace(/['’]/g, '')))) || identifier) f.entities.add(lower.replace(/['’]s$/, ''));
  }
  return f;
}

function sameCounts(a: Map<string, number>, b: Map<string, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, n] of a) if (b.get(k) !== n) return false;
  return true;
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  if (a.size !== b.size) return false;
  for (const k of a) if (!b.has(k)) return false;
  return true;
}

/** Both texts use one side of an antonym pair each, and not the same sides. */
function antonymFlip(a: Map<number, Set<0 | 1>>, b: Map<number, Set<0 | 1>>): boolean {
  for (const [pair, sa] of a) {
    const sb = b.get(pair);
    if (!sb) continue;
    if (sa.size !== sb.size || [...sa].some((s) => !sb.has(s))) return true;
  }
  return false;
}

/** Whether a cached question's answer may be served for a new, similar question. */
export function guard(cached: string, incoming: string): GuardVerdict {
  const a = features(cached);
  const b = features(incoming);
  if (!sameCounts(a.negations, b.negations)) return { ok: false, reason: 'negation' };
  if (!sameCounts(a.numbers, b.numbers)) return { ok: false, reason: 'number' };
  if (!sameSet(a.entities, b.entities)) return { ok: false, reason: 'entity' };
  if (antonymFlip(a.antonyms, b.antonyms)) return { ok: false, reason: 'antonym' };
  return { ok: true };
}
