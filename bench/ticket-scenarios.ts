/**
 * The ticket on its own: opening one cold (the path every first request of a ticket takes,
 * and every request when the ticket cache is off) and sealing one (sign-in, regenerate,
 * re-seal). Compared with the raw Web Crypto call each wraps.
 *
 * @module
 */
import { Keyring, generateKey } from "../src/keyring.ts";
import { newSessionId } from "../src/session-id.ts";
import { openTicket, sealTicket, type OpenedTicket } from "../src/ticket.ts";
import type { Scenario } from "./scenario.ts";

export async function ticketScenarios(now: number): Promise<Scenario[]> {
  const keyring = new Keyring(generateKey("bench"));
  const key = keyring.sealingKey(now)!;
  await key.ticketKey; // derived once at start-up, as in createSessions
  const exp = Math.floor(now / 1000) + 7 * 24 * 3600;

  // Distinct tickets, and a fresh string object per call: a request's cookie is always a new
  // string, so nothing an engine remembers about a string it has seen may help.
  const tickets = await Promise.all(
    Array.from({ length: 512 }, () => sealTicket({ sid: newSessionId(null), exp }, key)),
  );
  let next = 0;
  const freshTicket = () => {
    const ticket = tickets[next++ & 511]!;
    return ticket.slice(0, 1) + ticket.slice(1);
  };
  const claims = { sid: newSessionId(null), exp };

  return [
    {
      id: "open-cold", group: "ticket", label: "openTicket, new string each call",
      run: () => openTicket(freshTicket(), keyring, now),
      inspect: (result) => ({ problem: (result as OpenedTicket).ok ? undefined : "a valid ticket did not open" }),
    },
    {
      id: "seal", group: "ticket", label: "sealTicket",
      run: () => sealTicket(claims, key),
    },
  ];
}
