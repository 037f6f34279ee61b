/**
 * How `npm start` and `npm run chaos` answer their command line before doing anything: one copy, so both
 * keep the same exit codes (2 after a bad option, 0 after --help) and the same words.
 */

/** The options to run with, or the exit code when there is nothing to run (the answer is written). */
export function readOptions<T extends { readonly help: boolean }>(
  argv: readonly string[],
  parse: (argv: readonly string[]) => T,
  helpText: () => string,
  /** The error `parse` throws for a bad option; any other error is a bug and goes on up. */
  OptionError: abstract new (...args: never[]) => Error,
): T | number {
  let options: T;
  try {
    options = parse(argv);
  } catch (error) {
    if (error instanceof OptionError) {
      process.stderr.write(`${error.message}\nRun with --help for the options.\n`);
      return 2;
    }
    throw error;
  }
  if (options.help) {
    process.stdout.write(`${helpText()}\n`);
    return 0;
  }
  return options;
}
