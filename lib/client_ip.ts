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

/** An IPv6 address as its eight 16-bit groups (a dotted IPv4 tail is two), or undefined. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address;
  const tail = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (tail) {
    const bytes = tail.slice(1).map(Number);
    if (bytes.some((byte) => byte > 255)) return undefined;
    const hex = (high: number, low: number) => ((high << 8) | low).toString(16);
    text = `${text.slice(0, tail.index)}${hex(bytes[0], bytes[1])}:${hex(bytes[2], bytes[3])}`;
  }
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] === "" ? [] : halves[0].split(":");
  const rest = halves.length === 1 || halves[1] === "" ? [] : halves[1].split(":");
  const missing = 8 - head.length - rest.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...rest];
  if (!groups.every((group) => /^[0-9a-f]{1,4}$/i.test(group))) return undefined;
  return groups.map((group) => parseInt(group, 16));
}

/** The IPv4 address an IPv6 one carries (mapped, compatible, or NAT64's 64:ff9b::/96), if any. */
function embeddedIpv4(groups: number[]): string | undefined {
  const prefix = groups.slice(0, 6).join(":");
  const carries = prefix === "0:0:0:0:0:65535" || prefix === "100:65435:0:0:0:0" ||
    (prefix === "0:0:0:0:0:0" && groups[6] !== 0);
  if (!carries) return undefined;
  const [high, low] = groups.slice(6);
  return [high >> 8, high & 255, low >> 8, low & 255].join(".");
}

/**
 * What per-address limits count an address under: an IPv4 address itself (also when an IPv6
 * address carries it: mapped, compatible, or through NAT64), and an IPv6 address's /64 block
 * (`2001:db8:1:2::/64`). One machine is usually given a whole /64 and may take a new address in
 * it at will, so counting by address would let it past every cap; a /64 is one network, like the
 * addresses behind one IPv4 NAT. Anything else (`unknown`) is its own key.
 */
export function addressBlock(ip: string): string {
  const bare = ip.replace(/^\[(.*)\]$/, "$1").replace(/%.*$/, "");
  if (!bare.includes(":")) return ip;
  const groups = ipv6Groups(bare);
  if (groups === undefined) return ip;
  return embeddedIpv4(groups) ??
    `${groups.slice(0, 4).map((group) => group.toString(16)).join(":")}::/64`;
}
