import { xml, type Element } from '@xmpp/client';

import {
  AGENT_NS,
  decodePayload,
  encodePayload,
  type AgentRefusal,
  type Payload,
} from './protocol.js';

const STANZAS_NS = 'urn:ietf:params:xml:ns:xmpp-stanzas';

// The stanza error condition that goes with each refusal code, so that
// plain XMPP tools show something meaningful too.
const CONDITIONS: Record<string, string> = {
  NOT_AUTHORIZED: 'forbidden',
  AGENT_BUSY: 'resource-constraint',
  SHUTTING_DOWN: 'resource-constraint',
  RUN_IN_PROGRESS: 'conflict',
  UNKNOWN_JOB: 'item-not-found',
};

const RETRY_LATER = new Set(['AGENT_BUSY', 'SHUTTING_DOWN']);

/** A payload as its namespaced element. */
export function payloadElement(payload: Payload): Element {
  return xml(payload.name, { xmlns: AGENT_NS }, encodePayload(payload));
}

/** The `<error>` of an iq error that refuses a payload, saying why. */
export function refusalElement(refusal: AgentRefusal): Element {
  const condition =
    CONDITIONS[refusal.code] ??
    (/^BAD_/.test(refusal.code) ? 'bad-request' : 'undefined-condition');
  return xml(
    'error',
    { type: RETRY_LATER.has(refusal.code) ? 'wait' : 'cancel' },
    xml(condition, { xmlns: STANZAS_NS }),
    payloadElement({ name: 'refused', body: refusal }),
  );
}

/** The refusal carried by a failed iq, or null for other failures. */
export function refusalOf(err: unknown): AgentRefusal | null {
  const element = (err as { element?: Element }).element;
  const refused = element?.getChild('refused', AGENT_NS);
  if (refused === undefined) return null;
  try {
    const payload = decodePayload('refused', refused.text());
    return payload.name === 'refused' ? payload.body : null;
  } catch {
    return null;
  }
}
