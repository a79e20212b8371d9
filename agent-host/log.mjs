// One line per event on stderr. Under systemd (JOURNAL_STREAM set) the journal adds the time.

const withTime = !process.env.JOURNAL_STREAM;

/** A function that writes `<time> <tag>: <message>` as one line (newlines in the message flattened). */
export function createLogger(tag) {
  return (message) => {
    const line = String(message).replace(/[\r\n]+/g, ' ⏎ ');
    process.stderr.write(`${withTime ? new Date().toISOString() + ' ' : ''}${tag}: ${line}\n`);
  };
}

/**
 * A function that replaces every setting value (4 characters or longer) found in a text with
 * `****`, longest first, so plugin error texts that echo a secret never reach the log.
 */
export function secretScrubber(settings) {
  const values = [...new Set(Object.values(settings).filter((v) => typeof v === 'string' && v.length >= 4))]
    .sort((a, b) => b.length - a.length);
  return (text) => {
    let result = String(text);
    for (const value of values) result = result.split(value).join('****');
    return result;
  };
}
