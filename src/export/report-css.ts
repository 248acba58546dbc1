/**
 * The standalone export's stylesheet: readable on screen, clean on paper (the PDF is this
 * document printed). The console styles the fragment itself, by the same class names.
 */
export const REPORT_CSS = `
@page { size: A4; margin: 20mm 18mm 22mm; }
:root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1a1a1a; font: 11pt/1.55 "DejaVu Serif", Georgia, "Times New Roman", serif; }
.vw-report { max-width: 44rem; margin: 2rem auto; padding: 0 1.25rem; }
@media print { .vw-report { max-width: none; margin: 0; padding: 0; } }
h1, h2, h3, h4 { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; line-height: 1.25; break-after: avoid; }
h1 { font-size: 1.7em; margin: 0 0 .6em; }
h2 { font-size: 1.3em; margin: 1.6em 0 .5em; }
h3 { font-size: 1.1em; margin: 1.3em 0 .4em; }
p, li { orphans: 3; widows: 3; }
a { color: #1f4e8c; text-decoration: none; }
code, pre { font-family: "DejaVu Sans Mono", monospace; font-size: .88em; }
pre { white-space: pre-wrap; word-break: break-word; background: #f5f5f5; padding: .6em .8em; border-radius: 3px; }
blockquote { margin: 1em 0; padding-left: 1em; border-left: 3px solid #ccc; color: #444; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #bbb; padding: .3em .6em; vertical-align: top; }
.vw-align-left { text-align: left; } .vw-align-center { text-align: center; } .vw-align-right { text-align: right; }
sup.vw-fn-ref { font-size: .72em; line-height: 0; }
sup.vw-fn-ref a { padding: 0 .1em; }
.vw-verification { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: .85em; padding: .4em .7em; border-radius: 3px; margin: 0 0 1.5em; }
.vw-verification.vw-verified { background: #eef6ee; color: #1d5c1d; }
.vw-verification.vw-unverified { background: #fbeeee; color: #8a1f1f; }
.vw-footnotes, .vw-sources { font-size: .88em; border-top: 1px solid #ccc; margin-top: 2.5em; }
.vw-footnotes li, .vw-sources > ol > li { margin: .35em 0; break-inside: avoid; }
.vw-footnotes q, .vw-quotes q { font-style: italic; }
.vw-status { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: .82em; padding: 0 .3em; border-radius: 2px; }
.vw-status.vw-verified { color: #1d5c1d; }
.vw-status.vw-unverified { color: #8a1f1f; border: 1px solid #8a1f1f; }
.vw-source-id, .vw-cited-in, .vw-origin { color: #555; }
.vw-quotes { margin: .2em 0 .5em; padding-left: 1.2em; }
.vw-backref { margin-left: .2em; }
@media print { .vw-backref, .vw-source-link { display: none; } }
.vw-colophon { margin-top: 2.5em; font-size: .8em; color: #666; }
`;
