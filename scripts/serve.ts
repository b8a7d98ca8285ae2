/**
 * Runs the server with `deno serve` on the port named by `PORT` (default 8000): on every core
 * with `--parallel`, or with `--watch` (one worker, restart on change) when given `--dev`.
 *
 * @module
 */
const dev = Deno.args.includes("--dev");
const port = Deno.env.get("PORT") ?? "8000";
if (!/^\d{1,5}$/.test(port)) {
  console.error(`Cannot start Parley: PORT must be a port number, got "${port}"`);
  Deno.exit(1);
}
const permissions = ["--allow-net", "--allow-env", "--allow-read", "--allow-write"];
const mode = dev ? ["--watch"] : ["--parallel"];
const root = new URL("..", import.meta.url);
const server = new Deno.Command(Deno.execPath(), {
  args: ["serve", ...mode, ...permissions, "--port", port, "main.ts"],
  cwd: root,
}).spawn();
const bundler = dev
  ? new Deno.Command(Deno.execPath(), { args: ["task", "build", "--watch"], cwd: root }).spawn()
  : undefined;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.addSignalListener(signal, () => {
    server.kill(signal);
    bundler?.kill(signal);
  });
}
const { code } = await server.status;
bundler?.kill();
Deno.exit(code);
