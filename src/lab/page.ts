/**
 * The topology page: one HTML document with its script inline, no framework. It subscribes to
 * /events (server-sent events, one Topology per message) and redraws: the ToR and the nodes as an SVG
 * (a line per BGP session, green when Established, red otherwise), then a card per node with its
 * sessions (state and reason), pods, blocks and pod routes. Elements carry data-* attributes (a
 * session row is `data-node` + `data-session`, class up/down) so scripts and tests can read the page.
 */

export const TOPOLOGY_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tabby lab</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
  h1 { font-size: 1.3em; margin: 0 0 .2em; }
  #meta { color: #666; margin-bottom: 1em; }
  svg { border: 1px solid #ddd; background: #fafafa; }
  line.up, path.up { stroke: #2a9d2a; } line.down, path.down { stroke: #d62828; stroke-dasharray: 6 4; }
  line, path { stroke-width: 3; fill: none; }
  .box { fill: #fff; stroke: #555; } .box.down { stroke: #d62828; fill: #fde8e8; }
  #cards { display: flex; flex-wrap: wrap; gap: 1em; margin-top: 1em; }
  .card { border: 1px solid #ccc; border-radius: 6px; padding: .6em .9em; min-width: 22em; }
  .card.down { border-color: #d62828; }
  table { border-collapse: collapse; } td { padding: 1px 8px 1px 0; vertical-align: top; }
  tr.up td.state { color: #2a9d2a; } tr.down td.state { color: #d62828; font-weight: bold; }
  code { font-size: 12px; }
</style>
</head>
<body>
<h1>tabby lab</h1>
<div id="meta">connecting…</div>
<svg id="map" width="1000" height="340" viewBox="0 0 1000 340"></svg>
<div id="cards"></div>
<script>
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
function draw(t) {
  document.getElementById("meta").textContent =
    "encap " + t.encap + " · pool " + t.pool + (t.tor ? " · ToR " + t.tor.kind + " " + t.tor.ip : "") + " · updated " + t.at;
  const n = t.nodes.length, w = 1000, y = 260, torY = 50;
  const x = (i) => Math.round((w / (n + 1)) * (i + 1));
  const at = new Map(t.nodes.map((node, i) => [node.ip, i]));
  let svg = "";
  const mesh = new Map();
  t.nodes.forEach((node, i) => {
    for (const s of node.sessions) {
      if (!at.has(s.peer)) {
        svg += '<line data-link="' + esc(node.name) + '~tor" class="' + (s.up ? "up" : "down") + '" x1="' + x(i) + '" y1="' + y + '" x2="500" y2="' + torY + '"></line>';
      } else if (at.has(s.peer)) {
        const j = at.get(s.peer), key = Math.min(i, j) + "~" + Math.max(i, j);
        mesh.set(key, (mesh.get(key) ?? true) && s.up);
      }
    }
  });
  for (const [key, up] of mesh) {
    const [i, j] = key.split("~").map(Number);
    const mid = (x(i) + x(j)) / 2, lift = y + 30 + Math.abs(j - i) * 12;
    svg += '<path data-link="' + esc(t.nodes[i].name + "~" + t.nodes[j].name) + '" class="' + (up ? "up" : "down") + '" d="M' + x(i) + " " + (y + 20) + " Q" + mid + " " + lift + " " + x(j) + " " + (y + 20) + '"></path>';
  }
  if (t.tor) svg += '<rect class="box" x="440" y="' + (torY - 22) + '" width="120" height="44" rx="6"></rect><text x="500" y="' + (torY + 5) + '" text-anchor="middle">ToR ' + esc(t.tor.kind) + "</text>";
  t.nodes.forEach((node, i) => {
    svg += '<rect data-node-box="' + esc(node.name) + '" class="box ' + (node.agent === "down" ? "down" : "") + '" x="' + (x(i) - 50) + '" y="' + (y - 22) + '" width="100" height="44" rx="6"></rect>';
    svg += '<text x="' + x(i) + '" y="' + (y - 3) + '" text-anchor="middle">' + esc(node.name) + '</text><text x="' + x(i) + '" y="' + (y + 13) + '" text-anchor="middle" font-size="11">' + esc(node.ip) + "</text>";
  });
  document.getElementById("map").innerHTML = svg;
  document.getElementById("cards").innerHTML = t.nodes.map((node) =>
    '<div class="card ' + (node.agent === "down" ? "down" : "") + '" data-node="' + esc(node.name) + '" data-agent="' + esc(node.agent) + '">' +
    "<b>" + esc(node.name) + "</b> " + esc(node.ip) + " · agent " + esc(node.agent) + (node.reason ? " (" + esc(node.reason) + ")" : "") +
    "<table>" + node.sessions.map((s) =>
      '<tr data-node="' + esc(node.name) + '" data-session="' + esc(s.name) + '" class="' + (s.up ? "up" : "down") + '"><td>' + esc(s.name) + '</td><td class="state">' + esc(s.state) + "</td><td>" + esc(s.info ?? "") + "</td></tr>").join("") + "</table>" +
    "<div>pods: " + node.pods.map((p) => esc(p.name) + " <code>" + esc(p.ip) + "</code>").join(", ") + "</div>" +
    "<div>blocks: " + node.blocks.map((b) => "<code>" + esc(b) + "</code>").join(" ") + "</div>" +
    "<div>routes:<br>" + node.routes.map((r) => "<code>" + esc(r) + "</code>").join("<br>") + "</div></div>").join("");
}
const source = new EventSource("/events");
source.onmessage = (e) => draw(JSON.parse(e.data));
source.onerror = () => { document.getElementById("meta").textContent = "lost the lab (reconnecting)…"; };
</script>
</body>
</html>
`;
