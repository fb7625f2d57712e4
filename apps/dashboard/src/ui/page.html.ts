/** The page shell; everything in it is filled in by the browser modules (/assets/app/main.js) from the JSON API. */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Agency dashboard</title>
<link rel="stylesheet" href="/assets/dashboard.css">
</head>
<body>
<header>
  <h1>Agency</h1>
  <span id="live" class="live off">connecting…</span>
  <a href="/eval" class="live on">Eval runs</a>
</header>
<div id="errors" role="alert"></div>
<main>
  <section id="board-section">
    <h2>Feature requests</h2>
    <div id="counts"></div>
    <div id="board"></div>
  </section>
  <section id="detail" hidden></section>
  <section id="queue-section">
    <h2>Queue</h2>
    <div id="queue"></div>
  </section>
  <section id="events-section">
    <h2>Recent events</h2>
    <ol id="events" class="events"></ol>
  </section>
</main>
<script type="module" src="/assets/app/main.js"></script>
</body>
</html>
`;
