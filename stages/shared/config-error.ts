/** A configuration mistake: the process prints one sentence and exits 2. Thrown by stage code, caught by cli/. */
export class ConfigError extends Error {}
