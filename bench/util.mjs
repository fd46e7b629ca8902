// util.mjs - what the Node benchmark scripts share.

/** The positive integer in environment variable name, or dflt when it is unset or
 * empty; throws naming the variable when it is anything else. */
export function intEnv(name, dflt) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  if (!/^[1-9][0-9]*$/.test(raw)) throw new Error(`${name} must be a positive number, not '${raw}'`);
  return Number(raw);
}
