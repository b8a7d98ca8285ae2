import type { Context } from "hono";

/**
 * The client's IP address: the socket's peer, or with `trustProxy` the last address in
 * `X-Forwarded-For` (the one the proxy in front of Parley saw). "unknown" when neither exists,
 * as for requests made in-process.
 */
export function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header("x-forwarded-for")?.split(",").at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  const info = c.env as Deno.ServeHandlerInfo<Deno.NetAddr> | undefined;
  return info?.remoteAddr?.hostname ?? "unknown";
}

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;

/**
 * What per-address limits count an address under: an IPv4 address itself (also when written as
 * IPv4-mapped IPv6), and an IPv6 address's /64 block (`2001:db8:1:2::/64`). One machine is
 * usually given a whole /64 and may take a new address in it at will, so counting by address
 * would let it past every cap; a /64 is one network, like the addresses behind one IPv4 NAT.
 * Anything else (`unknown`) is its own key.
 */
export function addressBlock(ip: string): string {
  const bare = ip.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  if (!bare.includes(":")) return ip;
  const mapped = IPV4_MAPPED.exec(bare);
  if (mapped) return mapped[1];
  const halves = bare.split("::");
  if (halves.length > 2) return ip;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const tail = halves.length === 1 || halves[1] === "" ? [] : halves[1].split(":");
  const zeros = halves.length === 2
    ? Array(Math.max(0, 8 - head.length - tail.length)).fill("0")
    : [];
  const groups = [...head, ...zeros, ...tail];
  if (groups.length < 4 || !groups.slice(0, 4).every((group) => /^[0-9a-f]{1,4}$/i.test(group))) {
    return ip;
  }
  return `${groups.slice(0, 4).map((group) => parseInt(group, 16).toString(16)).join(":")}::/64`;
}
