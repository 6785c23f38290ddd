import { COLORS } from '../../sites/types.js';
import type { FleetStatus, SiteStatus } from '../stages/status.js';
import { shortImage, type Deployment } from '../publish/history.js';
import { minuteOf, straysText, trafficText } from './status-text.js';
import { plural } from '../shared/words.js';

/**
 * `aviary status --html FILE`: one self-contained page (no external asset,
 * so it can be attached to a CI run or opened from disk) with every site, a
 * search that filters them, and the deploy history. Everything is rendered
 * into the HTML, so the page reads without JavaScript; the script only
 * filters. A narrow screen shows each site as a card.
 */
export function statusPage(status: FleetStatus): string {
  const columns = status.argocd?.reachable === true;
  const argo = columns ? argoSummary(status.sites) : '';
  const rows = status.sites.map(siteRow).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Aviary fleet status</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Fleet status</h1>
<p>${plural(status.sites.length, 'site')} · canary <b>${status.canary.selector}</b> · ${COLORS.map((c) => `${c} <code title="${esc(status.canary.images[c])}">${esc(shortImage(status.canary.images[c]))}</code>`).join(' · ')}</p>
<p>${published(status)}${argo ? ` · Argo CD: ${argo}` : ''}</p>
${columns && status.argocd!.strays.length ? `<p class="bad">${esc(straysText(status.argocd!.strays))}</p>` : ''}
${status.unavailable.map((problem) => `<p class="bad" role="alert">Not read: ${esc(problem)}</p>`).join('\n')}
<p class="muted">Generated ${esc(status.generatedAt)} by <code>aviary status --html</code>.</p>
</header>
<main>
<label for="search">Search sites</label>
<input id="search" type="search" placeholder="id, host, color, image, status…" autocomplete="off" spellcheck="false">
<p id="shown" aria-live="polite">${status.sites.length} of ${status.sites.length} sites</p>
<div id="sites" class="${columns ? 'argo' : ''}" role="table" aria-label="Sites">
<div class="row head" role="row"><span role="columnheader">Site</span><span role="columnheader">Traffic</span><span role="columnheader">Service</span><span role="columnheader">Image</span><span role="columnheader">Last deploy</span>${columns ? '<span role="columnheader">Argo CD</span>' : ''}</div>
${rows}
</div>
<p id="none" hidden>No site matches.</p>
<h2>Deploy history</h2>
${historyList(status)}
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function siteRow(site: SiteStatus): string {
  const deploy = site.lastDeploy;
  const argo = site.argocd ? `${site.argocd.sync} ${site.argocd.health}` : '';
  const words = [site.id, site.name, site.cluster, site.application, ...site.hostnames, site.service, trafficText(site), shortImage(site.image), deploy?.commit.slice(0, 12) ?? 'never', argo];
  const cells = [
    `<div role="cell" data-label="Site"><b>${esc(site.id)}</b> <span class="muted">${esc(site.name)}</span><br><a href="${esc(site.url)}">${esc(site.hostnames.join(', '))}</a>${site.preview ? ` · <a href="${esc(site.preview)}">preview</a>` : ''}</div>`,
    `<div role="cell" data-label="Traffic">${esc(trafficText(site))}</div>`,
    `<div role="cell" data-label="Service"><span class="color ${site.service}">${site.service}</span></div>`,
    `<div role="cell" data-label="Image"><code>${esc(shortImage(site.image))}</code></div>`,
    `<div role="cell" data-label="Last deploy">${deploy ? `${esc(minuteOf(deploy.date))} <code title="${esc(deploy.subject)}">${esc(deploy.commit.slice(0, 12))}</code>` : '<span class="muted">never</span>'}</div>`,
    ...(site.argocd ? [`<div role="cell" data-label="Argo CD" class="${site.argocd.sync === 'Synced' && site.argocd.health === 'Healthy' ? 'ok' : 'bad'}">${esc(argo)}</div>`] : []),
  ];
  return `<div class="row" role="row" data-search="${esc(words.join(' ').toLowerCase())}">${cells.join('')}</div>`;
}

function historyList(status: FleetStatus): string {
  if (!status.manifests) return '<p class="muted">No manifests repository named: pass --repo or set argocd.repoURL in canary.yaml.</p>';
  if (!status.manifests.reachable) return '<p class="muted">Not read (see above).</p>';
  if (status.history.length === 0) return '<p class="muted">No deployments yet.</p>';
  return `<ol id="history">\n${status.history.map(deployItem).join('\n')}\n</ol>`;
}

function deployItem(d: Deployment): string {
  const images = Object.keys(d.images)
    .sort()
    .map((c) => `${esc(c)}${c === d.selector ? '*' : ''} <code title="${esc(d.images[c]!)}">${esc(shortImage(d.images[c]!))}</code>`)
    .join(' · ');
  const sites = d.sites.length > 10 ? `${d.sites.slice(0, 10).join(', ')} and ${d.sites.length - 10} more` : d.sites.join(', ');
  return [
    `<li><b>${esc(d.subject)}</b><br>`,
    `<span class="muted">${esc(minuteOf(d.date))} · <code>${esc(d.commit.slice(0, 12))}</code> · ${esc(d.author)}${d.source ? ` · input <code>${esc(d.source.slice(0, 12))}</code>` : ''}</span>`,
    images ? `<br>images ${images}${d.services ? ' (services changed)' : ''}` : '',
    sites ? `<br>sites ${esc(sites)}` : '',
    '</li>',
  ].join('');
}

function published(status: FleetStatus): string {
  const m = status.manifests;
  if (!m) return 'not read from a manifests repository';
  if (!m.reachable) return `the manifests repository <code>${esc(m.repo)}</code> could not be read`;
  const where = `${esc(m.branch)} of <code>${esc(m.repo)}</code>${m.path === '.' ? '' : `, folder ${esc(m.path)}/`}`;
  return m.head ? `published at <code>${esc(m.head.slice(0, 12))}</code> on ${where}` : `never published to ${where}`;
}

function argoSummary(sites: readonly SiteStatus[]): string {
  const counts = new Map<string, number>();
  for (const s of sites) {
    const key = `${s.argocd!.sync} ${s.argocd!.health}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${n} ${esc(k)}`).join(', ');
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Site names and commit subjects are anybody's text: nothing of theirs becomes markup. */
function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const STYLE = `
:root { color-scheme: light dark; --muted: #6b7280; --line: #d1d5db; --ok: #15803d; --bad: #b91c1c; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0 auto; max-width: 80rem; padding: 1rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; }
h1 { margin: 0 0 .5rem; font-size: 1.5rem; } h2 { margin-top: 2rem; font-size: 1.2rem; }
header p { margin: .2rem 0; overflow-wrap: anywhere; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, monospace; }
a { overflow-wrap: anywhere; }
.muted { color: var(--muted); }
label { display: block; font-weight: 600; margin-top: 1rem; }
#search { width: 100%; max-width: 32rem; padding: .5rem .6rem; font-size: 1rem; border: 1px solid var(--line); border-radius: .4rem; }
.row { display: grid; grid-template-columns: minmax(12rem, 3fr) minmax(6rem, 1.3fr) 5rem 8rem 10rem; gap: .2rem .75rem; padding: .45rem .5rem; border-bottom: 1px solid var(--line); }
#sites.argo .row { grid-template-columns: minmax(12rem, 3fr) minmax(6rem, 1.3fr) 5rem 8rem 10rem minmax(7rem, 1fr); }
/* Rows off screen are neither laid out nor painted: 10,000 sites load in a second or two. */
.row[data-search] { content-visibility: auto; contain-intrinsic-size: auto 3.5rem; }
.head { position: sticky; top: 0; z-index: 1; background: Canvas; font-weight: 600; }
[role=cell] { min-width: 0; overflow-wrap: anywhere; }
.color { display: inline-block; padding: 0 .45rem; border-radius: 1rem; color: #fff; font-size: .85em; }
.color.blue { background: #1d4ed8; } .color.green { background: #15803d; }
.ok { color: var(--ok); } .bad { color: var(--bad); font-weight: 600; }
ol { padding-left: 1.4rem; } li { margin-bottom: .7rem; overflow-wrap: anywhere; }
@media (max-width: 40rem) {
  .head { display: none; }
  .row, #sites.argo .row { grid-template-columns: 1fr; border: 1px solid var(--line); border-radius: .5rem; margin-bottom: .7rem; contain-intrinsic-size: auto 14rem; }
  [role=cell]::before { content: attr(data-label); display: block; font-size: .75rem; color: var(--muted); }
}
`;

/** Every word typed must appear in a row's text (id, name, cluster, Application, hosts, colors, image, last deploy's commit, Argo CD status). */
const SCRIPT = `
(() => {
  const input = document.getElementById('search');
  const rows = [...document.querySelectorAll('#sites .row[data-search]')];
  const shown = document.getElementById('shown');
  const none = document.getElementById('none');
  const texts = rows.map((row) => row.dataset.search);
  const filter = () => {
    const words = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
    let count = 0;
    rows.forEach((row, i) => {
      const match = words.every((w) => texts[i].includes(w));
      row.hidden = !match;
      if (match) count++;
    });
    shown.textContent = count + ' of ' + rows.length + ' sites';
    none.hidden = count > 0;
  };
  // Synchronous: matching even 10,000 rows' precomputed text is a few milliseconds.
  input.addEventListener('input', filter);
  const asked = new URLSearchParams(location.search).get('q');
  if (asked) { input.value = asked; filter(); }
})();
`;
