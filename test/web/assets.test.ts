import { Script } from "node:vm";
import { CONSOLE_CSS, CONSOLE_HTML, CONSOLE_JS } from "../../src/web/page/assets.ts";

describe("the console page's assets", () => {
  it("the script parses (one syntax error would blank every view)", () => {
    expect(() => new Script(CONSOLE_JS, { filename: "console.js" })).not.toThrow();
  });

  it("the HTML loads script and style from /assets only, with nothing inline (the CSP allows nothing else)", () => {
    expect(CONSOLE_HTML).toContain('src="/assets/console.js"');
    expect(CONSOLE_HTML).toContain('href="/assets/console.css"');
    expect(CONSOLE_HTML).not.toMatch(/<script>(?!<\/script>)|<style|\sstyle=|\son[a-z]+=/i);
    expect(CONSOLE_CSS.length).toBeGreaterThan(0);
  });
});
