/**
 * The console's HTML shell: landmarks, the navigation and empty regions the script fills. No inline
 * script or style (the CSP allows only /assets/console.js and /assets/console.css); nothing here
 * depends on data, so the shell is the same for every session.
 */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Vibewriter console</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/assets/console.css">
<script src="/assets/console.js" defer></script>
</head>
<body>
<a class="skip" id="skip" href="#main">Skip to content</a>
<header class="top">
  <p class="brand"><a href="#/">Vibewriter</a></p>
  <nav aria-label="Console">
    <ul>
      <li><a href="#/" data-nav="threads">Threads</a></li>
      <li><a href="#/payments" data-nav="payments">Payments <span id="pending-count" class="count"></span></a></li>
      <li><a href="#/ledger" data-nav="ledger">Ledger</a></li>
      <li><a href="#/fleet" data-nav="fleet">Fleet</a></li>
    </ul>
  </nav>
  <p class="who"><span id="role"></span> <span id="conn" role="status" aria-live="polite"></span></p>
</header>
<main id="main" tabindex="-1">
  <p>Loading…</p>
  <noscript><p>The console needs JavaScript.</p></noscript>
</main>
<div id="announce" class="visually-hidden" role="status" aria-live="polite"></div>
<footer class="foot"><p>Vibewriter console · decisions are signed by the owner's key held by <code>vibewriter web</code>, never by this page.</p></footer>
</body>
</html>
`;
