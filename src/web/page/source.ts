/**
 * A cited source (`#/thread/<id>/source/<sourceId>?quote=…`): its stored text with the quoted
 * sentence in a <mark>, scrolled into view and focused. The quote is found verbatim, else with
 * whitespace and case relaxed (a citation may join lines the source breaks).
 */
export const SOURCE_JS = String.raw`
/** [start, end) of the quote in the text, or null. */
function findQuote(textValue, quote) {
  const q = quote.trim();
  if (!q) return null;
  const exact = textValue.indexOf(q);
  if (exact >= 0) return [exact, exact + q.length];
  const words = q.split(/\s+/).filter(Boolean).map((w) => w.replace(/[.*+?^$()|[\]{}\\]/g, "\\$&"));
  if (!words.length) return null;
  const m = new RegExp(words.join("\\s+"), "i").exec(textValue);
  return m ? [m.index, m.index + m[0].length] : null;
}

views.source = async (route, ctx) => {
  const s = await api("/api/threads/" + encodeURIComponent(route.id) + "/sources/" + encodeURIComponent(route.sourceId));
  if (ctx.stale()) return;
  const body = el("div", { class: "source-text", id: "source-text" });
  const span = route.quote ? findQuote(s.text || "", route.quote) : null;
  let mark = null;
  if (span) {
    mark = el("mark", { id: "quote", tabindex: "-1" }, s.text.slice(span[0], span[1]));
    append(body, [s.text.slice(0, span[0]), mark, s.text.slice(span[1])]);
  } else {
    body.textContent = s.text || "";
  }
  frame(s.title || s.origin || s.id,
    el("p", {}, el("a", { href: threadHref(route.id) + "" }, "← Back to the thread")),
    el("dl", { class: "kv" },
      el("dt", {}, "Source"), el("dd", { class: "mono" }, s.id),
      s.origin ? [el("dt", {}, "Origin"), el("dd", {}, s.origin)] : null,
      s.url ? [el("dt", {}, "URL"), el("dd", { class: "mono" }, s.url)] : null,
    ),
    route.quote
      ? (span
        ? el("p", { class: "fine", id: "quote-status" }, "The quoted sentence is highlighted below.")
        : el("p", { class: "problem", id: "quote-status", role: "alert" }, "The quoted sentence was not found in this source: “" + route.quote + "”"))
      : null,
    el("h2", {}, "Text"),
    body);
  if (mark) {
    mark.scrollIntoView({ block: "center" });
    state.afterRender = () => mark.focus({ preventScroll: true });
  }
};
`;
