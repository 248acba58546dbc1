/**
 * Checks on a live page for vitest (playwright-core has no `expect` of its own): `poll` retries a
 * read of the page until the matcher holds or 20 s pass (the page updates asynchronously, from
 * SSE), and says what it last saw when it fails.
 */
import type { Locator } from "playwright-core";

export const poll = <T>(read: () => Promise<T> | T, timeout = 20_000) => expect.poll(read, { timeout, interval: 50 });

export const isFocused = (l: Locator) => l.evaluate((el) => el === el.ownerDocument.activeElement);

/** Entirely within the window (scrolled into view). */
export const inViewport = (l: Locator) =>
  l.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return r.top >= 0 && r.bottom <= el.ownerDocument.documentElement.clientHeight && r.width > 0;
  });
