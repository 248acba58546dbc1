/** Entry point of the `vibewriter` command: parse argv to a command, run it, return the exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  process.stderr.write(`vibewriter: unknown command ${command ?? "(none)"}\n`);
  return 2;
}
