/**
 * Whether `deno serve` could listen where `deno task start` is told to: checked before it starts,
 * so that a port in use, an address the machine does not have or a port the user may not open
 * stops the launch with one line instead of `deno serve`'s stack trace.
 *
 * @module
 */
import type { LaunchSettings } from "./launch_settings.ts";

/**
 * Why the server could not listen on `host` and `port`, if that is already clear; `listen`
 * stands in for `Deno.listen` (in tests).
 */
export function listenProblem(
  { host, port }: Pick<LaunchSettings, "host" | "port">,
  listen: (options: Deno.TcpListenOptions) => Deno.Listener = Deno.listen,
): string | undefined {
  const hostname = host.replace(/^\[(.*)\]$/, "$1");
  try {
    listen({ hostname, port }).close();
  } catch (error) {
    if (error instanceof Deno.errors.AddrInUse) {
      return `Port ${port} on ${host} is in use by another program: stop it, or set PORT`;
    }
    if (error instanceof Deno.errors.AddrNotAvailable) {
      return `${host} is not an address of this machine: set PARLEY_HOST to one of its ` +
        `addresses, or leave it unset for every IPv4 interface`;
    }
    if (error instanceof Deno.errors.PermissionDenied) {
      return `Port ${port} on ${host} is not open to this user (ports below 1024 need ` +
        `privileges): set PORT to 1024 or above, with a proxy in front on 80 or 443`;
    }
    // Deno names no error class for a host name that does not resolve: only its message does.
    if (error instanceof Error && /failed to lookup address/.test(error.message)) {
      return `PARLEY_HOST "${host}" is a name this machine cannot resolve: set it to one of the ` +
        `machine's addresses or names, or leave it unset for every IPv4 interface`;
    }
    // Anything else is left to `deno serve` to say.
  }
  return undefined;
}
