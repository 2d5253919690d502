/** Text imports (`file?raw`), bundled by esbuild (tools/build.mjs) and served by Vite in tests. */
declare module "*?raw" {
  const text: string;
  export default text;
}
