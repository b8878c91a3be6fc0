// One widget of the package's `tikcast/widgets` entry point as a page (widget.html), from
// the query string (widget-query.js): `w` the widget, its source, its settings.
import { WIDGETS, widgetFromQuery } from './widget-query.js';

const q = new URLSearchParams(location.search);
if (['1', 'true', ''].includes(q.get('transparent') ?? 'no')) document.documentElement.classList.add('transparent');

const w = widgetFromQuery(q);
if (!w) {
  const list = document.getElementById('widget-list');
  for (const [name, info] of Object.entries(WIDGETS)) {
    const li = document.createElement('li');
    const code = document.createElement('code');
    code.textContent = `w=${name}`;
    li.append(code, ` ${info.title}`);
    list.append(li);
  }
  document.getElementById('help').hidden = q.has('embed');
} else {
  document.title = `tikcast: ${WIDGETS[q.get('w')].title}`;
  document.body.append(w);
  window.tikcastWidget = w;
  // `frames=1`: push frames come from the page that embeds this one (an iframe's parent or
  // the opener), posted as { type: 'tikcast-frame', bytes: ArrayBuffer | Uint8Array }.
  if (w.hasAttribute('frames')) {
    addEventListener('message', (e) => {
      if (e.source !== parent && e.source !== opener) return;
      const d = e.data;
      if (d?.type !== 'tikcast-frame' || !(d.bytes instanceof ArrayBuffer || d.bytes instanceof Uint8Array)) return;
      w.pushFrame(d.bytes);
    });
  }
}
