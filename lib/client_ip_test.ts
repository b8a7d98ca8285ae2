import assert from "node:assert/strict";
import { addressBlock } from "./client_ip.ts";

Deno.test("addressBlock - IPv6 addresses count as their /64, IPv4 ones (also inside IPv6) as themselves", () => {
  const cases: [string, string][] = [
    ["203.0.113.7", "203.0.113.7"],
    ["::ffff:203.0.113.7", "203.0.113.7"],
    ["::FFFF:cb00:7107", "203.0.113.7"],
    ["::203.0.113.7", "203.0.113.7"],
    ["64:ff9b::203.0.113.7", "203.0.113.7"],
    ["2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"],
    ["2001:0db8:0001:0002::1", "2001:db8:1:2::/64"],
    ["2001:db8:1:2::10.0.0.1", "2001:db8:1:2::/64"],
    ["[2001:db8::1]", "2001:db8:0:0::/64"],
    ["fe80::1%eth0", "fe80:0:0:0::/64"],
    ["::1", "0:0:0:0::/64"],
    ["unknown", "unknown"],
    ["1:2:3::4::5", "1:2:3::4::5"],
    ["1:2:3:4:5:6:7", "1:2:3:4:5:6:7"],
    ["::ffff:300.1.1.1", "::ffff:300.1.1.1"],
  ];
  for (const [ip, block] of cases) assert.equal(addressBlock(ip), block, ip);
});
