/**
 * What every `telemetry` command shares in how it is declared: it reads the TELEMETRY_* variables of its
 * own flags and no others, a usage mistake points at its own --help, its help examples are never wrapped
 * in the middle of a command, and a port flag out of range is the same sentence everywhere.
 */
import type { Argv, CommandModule } from "yargs";

export const ENV_PREFIX = "TELEMETRY";

/** The command chosen on this run, e.g. ["iglu", "serve"]; empty until yargs has picked one. */
let chosen: string[] = [];

/** `enrich`, `iglu serve`… once yargs has chosen the command, else undefined. */
export function chosenCommand(): string | undefined {
  return chosen.length > 0 ? chosen.join(" ") : undefined;
}

interface DeclaredOptions {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/**
 * One environment serves a whole pipeline (TELEMETRY_PORT for collect, TELEMETRY_FORMAT for enrich), but
 * yargs turns every TELEMETRY_* variable into a flag and its strict mode then stops a command at any that
 * is not its own. So once a command's flags are declared, and before yargs parses them, the variables
 * naming none of them are taken out of this process's environment. A typo on the command line is still
 * an unknown flag.
 */
function keepOwnVariables(declared: DeclaredOptions, commandLineOnly: readonly string[]): void {
  const own = new Set<string>();
  for (const [key, aliases] of [...Object.keys(declared.key).map((key) => [key, []] as const), ...Object.entries(declared.alias)]) {
    for (const name of [key, ...aliases]) own.add(kebab(name));
  }
  for (const flag of commandLineOnly) own.delete(flag);
  for (const variable of Object.keys(process.env)) {
    if (!variable.startsWith(`${ENV_PREFIX}_`)) continue;
    const flag = variable.slice(ENV_PREFIX.length + 1).toLowerCase().replaceAll("_", "-");
    if (!own.has(flag)) delete process.env[variable];
  }
}

/**
 * A command as yargs is given it. `within` names the command it belongs to ("iglu" for `iglu serve`); a
 * command that only groups sub-commands (`group`) leaves the environment to them. `commandLineOnly` flags
 * are never read from the environment: a variable set for another stage of the pipeline must not, say,
 * open a registry that takes writes to other machines.
 */
export function declareCommand<T, U>(
  module: CommandModule<T, U>,
  { within = [], group = false, commandLineOnly = [] }: { within?: string[]; group?: boolean; commandLineOnly?: string[] } = {},
): CommandModule<T, U> {
  const name = String(module.command).split(" ")[0]!;
  return {
    ...module,
    builder: (yargs: Argv<T>) => {
      chosen = [...within, name];
      const { builder } = module;
      const built = (typeof builder === "function" ? builder(yargs) : yargs.options(builder ?? {})) as Argv<U>;
      if (!group) keepOwnVariables((built as unknown as { getOptions(): DeclaredOptions }).getOptions(), commandLineOnly);
      return built;
    },
  };
}

/**
 * Help examples, each a `# what it does` line over the command, both at full width: yargs sets an example
 * beside its description in two columns and wraps long pipes in the middle.
 */
export function withExamples<T>(yargs: Argv<T>, examples: readonly (readonly [command: string, description: string])[]): Argv<T> {
  return examples.reduce((built, [command, description]) => built.example(`# ${description}\n${command}`, ""), yargs);
}

/** A TCP/UDP port flag: 0 to 65535 (0 picks a free port), anything else one sentence naming the flag. */
export function portOption(flag: string, option: { default?: number; describe: string }) {
  return {
    type: "number",
    ...option,
    coerce: (value: number | undefined) => {
      // A non-number is left to the shared "must be a number" check.
      if (value === undefined || Number.isNaN(value) || (Number.isInteger(value) && value >= 0 && value <= 65535)) return value;
      throw new Error(`--${flag} must be a port number from 0 to 65535, not ${value}`);
    },
  } as const;
}
