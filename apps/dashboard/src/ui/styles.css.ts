/** The page's stylesheet (served as /assets/dashboard.css). */
export const STYLES_CSS = `
:root { --bg: #f6f7f9; --fg: #1d2330; --muted: #6b7280; --card: #fff; --line: #e2e5ea; --accent: #2557d6;
  --run: #2557d6; --wait: #b7791f; --done: #2f855a; --stop: #c53030; font-family: system-ui, sans-serif; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); font-size: 14px; }
header { display: flex; align-items: center; gap: 16px; padding: 10px 20px; background: #111827; color: #fff; }
header h1 { font-size: 18px; margin: 0; }
main { padding: 12px 20px 40px; display: grid; grid-template-columns: minmax(0, 1fr); gap: 16px; }
section { min-width: 0; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
h2 { font-size: 16px; margin: 0 0 8px; }
h3 { font-size: 14px; margin: 12px 0 6px; }
a { color: var(--accent); }
.live { font-size: 12px; padding: 2px 8px; border-radius: 10px; }
.live.on { background: #22543d; }
.live.off { background: #742a2a; }
#errors .error, .error { color: var(--stop); }
.ok { color: var(--done); }
.muted { color: var(--muted); }
#counts { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 8px; }
.count { border: 1px solid var(--line); border-radius: 10px; padding: 1px 8px; font-size: 12px; }
#board { display: grid; grid-template-columns: repeat(4, minmax(0, 1fr)); gap: 10px; }
.column { background: var(--bg); border-radius: 6px; padding: 8px; min-height: 60px; }
.column h3 { margin: 0 0 6px; font-size: 13px; }
.column-running h3 { color: var(--run); } .column-waiting h3 { color: var(--wait); }
.column-done h3 { color: var(--done); } .column-stopped h3 { color: var(--stop); }
.card { display: block; background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px; margin-bottom: 6px; color: inherit; text-decoration: none; }
.card.selected { outline: 2px solid var(--accent); }
.card-title { margin: 4px 0; }
.card-meta { color: var(--muted); font-size: 12px; }
.card-failure { color: var(--stop); font-size: 12px; margin-top: 4px; }
.badge { font-size: 11px; padding: 1px 6px; border-radius: 8px; background: #e8eefc; color: var(--run); white-space: nowrap; }
.badge.stage-waiting { background: #fdf3e1; color: var(--wait); }
.badge.stage-done { background: #e3f4ea; color: var(--done); }
.badge.stage-stopped { background: #fde8e8; color: var(--stop); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.num, th.num { text-align: right; white-space: nowrap; }
tr.current td { background: #f0f5ff; }
.detail-head { display: flex; justify-content: space-between; align-items: baseline; }
.actions { display: flex; flex-wrap: wrap; gap: 6px; align-items: center; margin: 8px 0; }
.actions input { flex: 1 1 240px; padding: 5px 8px; border: 1px solid var(--line); border-radius: 4px; }
button.action { padding: 5px 12px; border-radius: 4px; border: 1px solid var(--line); background: #fff; cursor: pointer; }
button.action:disabled { opacity: 0.4; cursor: default; }
button.action-approve:not(:disabled) { border-color: var(--done); color: var(--done); }
button.action-reject:not(:disabled), button.action-cancel:not(:disabled) { border-color: var(--stop); color: var(--stop); }
.events { margin: 0; padding-left: 0; list-style: none; max-height: 320px; overflow: auto; font-size: 12px; }
.events li { margin: 2px 0; }
.events time { color: var(--muted); }
#work h4 { font-size: 13px; margin: 10px 0 4px; }
.round { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
details { margin: 4px 0; }
summary { cursor: pointer; }
pre { background: #f3f4f6; border-radius: 4px; padding: 6px 8px; overflow-x: auto; font-size: 12px; margin: 4px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
pre.diff { white-space: pre; }
pre.diff span { display: block; }
span.add, pre.diff .add { color: #22543d; } pre.diff .add { background: #e6ffed; }
span.del, pre.diff .del { color: #9b2c2c; } pre.diff .del { background: #ffeef0; }
pre.diff .hunk { color: var(--muted); background: #f0f5ff; }
.file-status { font-size: 11px; color: var(--muted); }
.findings, .plan-steps, .turns { padding-left: 20px; }
.turn { margin: 6px 0; }
.turn.tool.failed > code { color: var(--stop); }
.table-scroll { overflow-x: auto; }
@media (max-width: 900px) { #board { grid-template-columns: 1fr 1fr; } }
@media (max-width: 600px) {
  main { padding: 8px; }
  section { padding: 8px; }
  #board { grid-template-columns: 1fr; }
  header { padding: 8px 10px; }
  .detail-head { flex-wrap: wrap; }
  table { display: block; overflow-x: auto; }
  .card, .links, .detail-meta, p, li, summary { overflow-wrap: anywhere; }
}
`;
