/**
 * The counter key of a client address for the sign-in limit. An IPv4 address is one client. An
 * IPv6 client usually holds a whole /64 (one LAN, or one customer of an ISP) and can use any
 * of its 2^64 addresses: keyed per address, one machine could spread its guesses over as many
 * counters as it likes, and fill a counter table with them. So an IPv6 address counts under its
 * /64. An IPv4-mapped IPv6 address (`::ffff:203.0.113.7`, as a dual-stack socket reports IPv4
 * peers) is the IPv4 address it maps.
 */
import ipaddr from "ipaddr.js";

export function clientKey(address: string | undefined): string | undefined {
  if (address === undefined || !ipaddr.isValid(address)) return address;
  const parsed = ipaddr.process(address); // IPv4-mapped IPv6 becomes IPv4
  if (parsed.kind() === "ipv4") return `ip:${parsed.toString()}`;
  const prefix = (parsed as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16)).join(":");
  return `ip6:${prefix}::/64`;
}
