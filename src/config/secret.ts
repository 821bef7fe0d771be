// Secrets never print themselves: not in logs, not in JSON, not in error messages.
// The value is only reachable through `reveal()`, which makes every use greppable.

const MASK = '****';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return MASK;
  }

  toJSON(): string {
    return MASK;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Secret(${MASK})`;
  }
}

/** Replace the password (and a user that looks like a token) in a URL with ****. Non-URLs are fully masked. */
export function maskUrl(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.password) url.password = MASK;
    for (const key of [...url.searchParams.keys()]) {
      if (/pass|secret|token|key/i.test(key)) url.searchParams.set(key, MASK);
    }
    return url.toString();
  } catch {
    return MASK;
  }
}

/** Remove every occurrence of the given secret strings from a text (for error messages from libraries). */
export function scrub(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) {
    if (s.length >= 4) out = out.split(s).join(MASK);
  }
  return out;
}
