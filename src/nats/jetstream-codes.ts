/**
 * JetStream's "wrong last sequence" API errors (nats.js names neither): a write that expected the
 * subject's last sequence found another — the subject already has a message, or a KV create or
 * update lost a compare-and-set race. The second is the same refusal when the expected sequence
 * was 0. A leaf module: the wallet's KV code checks them without the rest of nats/.
 */
export const WRONG_LAST_SEQUENCE = 10071;
export const WRONG_LAST_SEQUENCE_CONSTANT = 10164;
