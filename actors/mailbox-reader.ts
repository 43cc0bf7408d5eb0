import { fromCallback, type EventObject } from 'xstate';

import type { Mailbox } from '../runtime/mailbox.js';

/**
 * The link between a mailbox and the actor that owns it. The mailbox
 * outlives the actor, so a restarted actor finds the messages that were
 * waiting for it.
 */

/** Hands every message to the parent as an event, in order. */
export const mailboxDelivery = fromCallback<
  EventObject,
  { mailbox?: Mailbox<EventObject> }
>(({ sendBack, input }) => {
  const { mailbox } = input;
  if (!mailbox) return;

  mailbox.consume(() => {
    for (const message of mailbox.take()) sendBack(message);
  });

  return () => mailbox.consume(() => {});
});

/** Tells the parent that messages are waiting; the parent takes them. */
export const mailboxSignal = fromCallback<
  EventObject,
  { mailbox: Mailbox<unknown> }
>(({ sendBack, input }) => {
  input.mailbox.consume(() => sendBack({ type: 'mailbox.ready' }));
  return () => input.mailbox.consume(() => {});
});
