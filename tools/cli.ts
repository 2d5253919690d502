/** The `multios` command line (placeholder until the machine lands). */
export async function main(_argv: string[]): Promise<number> {
  return 0;
}
