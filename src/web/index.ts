/** The owner's console: its server, tokens and the payment desk. */
export { type OwnerSeat, PaymentDesk } from "./payment-desk.ts";
export { startConsole } from "./server.ts";
export { loadConsoleTokens } from "./tokens.ts";
