/**
 * The identity graph's part in `POST /v1/erasure`: the browsers linked to the person are
 * theirs too (their events are erased with the person's), and the graph's records of the
 * person and of those browsers go.
 *
 * @module
 */
import type { ErasureHook } from "../erasure/eraser.ts";
import type { Person } from "../erasure/person.ts";
import type { IdentityGraph } from "./graph.ts";
import { personKeyIds, personKeysOf } from "./snapshot.ts";

/** The person's identifiers as the graph keys them (`kind:sha256`). */
export function personIdsOf(person: Person): Set<string> {
  const fields = [
    ...[...person.userIds].map((customer_id) => ({ customer_id })),
    ...[...person.emails].map((email) => ({ email })),
    ...[...person.phones].map((phone) => ({ phone })),
  ];
  return new Set(fields.flatMap((f) => personKeyIds(personKeysOf(f))));
}

/** The erasure hook of an identity graph; its removed records count as `identity_records`. */
export function identityErasureHook(graph: IdentityGraph): ErasureHook {
  return {
    kind: "identity_records",
    linked: async (wsId, person) => ({
      anonymousIds: await graph.browsersOf(wsId, personIdsOf(person)),
    }),
    erase: (wsId, person) => graph.forget(wsId, person.anonymousIds, personIdsOf(person)),
  };
}
