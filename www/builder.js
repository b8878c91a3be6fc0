// The widget builder (builder.html): a form over `WIDGETS` (tikcast/widgets), a live preview
// (widget.html on the demo replay, in an iframe), and what to copy: the OBS URL and an HTML
// snippet. The snippet is the serialized widget element (its attributes escaped by the
// browser), never a string pasted together from the inputs.
import { WIDGETS, widgetFromQuery } from './widget-query.js';

const $ = (id) => document.getElementById(id);
const DEMO = { replay: '/demo/demo-session.tkrec', gifts: '/demo/demo-gifts.json' };

/** The builder's state, for tests and for pages that embed it. */
const builder = (window.tikcastBuilder = { url: '', previewUrl: '', snippet: '' });

for (const [name, info] of Object.entries(WIDGETS)) $('widget').append(new Option(info.title, name));
// builder.html?w=NAME&relay=URL&uniqueId=NAME starts with those (npm run demo links its relay).
const q = new URLSearchParams(location.search);
const start = q.get('w');
if (start && WIDGETS[start]) $('widget').value = start;
if (q.get('relay')) $('relay').value = q.get('relay');
if (q.get('uniqueId')) $('uniqueId').value = q.get('uniqueId');

/** The option inputs of the chosen widget. */
function renderOptions() {
  const info = WIDGETS[$('widget').value];
  const box = $('options');
  box.replaceChildren();
  for (const o of info.options) {
    const label = document.createElement('label');
    let input;
    if (o.type === 'choice') {
      input = document.createElement('select');
      for (const c of o.choices) input.append(new Option(c, c));
      input.value = o.default;
    } else {
      input = document.createElement('input');
      if (o.type === 'boolean') {
        input.type = 'checkbox';
        label.className = 'inline';
      } else {
        input.type = o.type === 'number' ? 'number' : 'text';
        input.value = o.default;
        if (o.type === 'number') {
          input.min = '0';
          input.step = 'any';
        }
      }
    }
    input.name = o.name;
    input.dataset.option = o.name;
    const help = document.createElement('span');
    help.className = 'help';
    help.textContent = o.help;
    label.append(`${o.name} `, input, help);
    box.append(label);
  }
  $('width').value = info.width;
  $('height').value = info.height;
}

/** The widget's own settings that differ from their defaults. */
function optionParams(p) {
  const info = WIDGETS[$('widget').value];
  for (const o of info.options) {
    const input = $('options').querySelector(`[data-option="${o.name}"]`);
    if (!input) continue;
    if (o.type === 'boolean') {
      if (input.checked) p.set(o.name, '1');
    } else if (input.value !== '' && input.value !== o.default) {
      p.set(o.name, input.value);
    }
  }
}

function styleParams(p) {
  if ($('accent-on').checked) p.set('accent', $('accent').value);
  if ($('color-on').checked) p.set('color', $('color').value);
  if ($('bg').value.trim()) p.set('bg', $('bg').value.trim());
  if ($('size').value.trim()) p.set('size', $('size').value.trim());
}

const source = () => document.querySelector('input[name=source]:checked').value;
const speed = () => String(Math.max(1, Number($('speed').value) || 1));

/** The query of the copied URL (the chosen source) or of the preview (the demo replay). */
function params(forPreview) {
  const p = new URLSearchParams({ w: $('widget').value });
  if (forPreview || source() === 'replay') {
    p.set('replay', DEMO.replay);
    p.set('gifts', DEMO.gifts);
    p.set('speed', speed());
  } else if (source() === 'signed') {
    p.set('signedUrl', $('signedUrl').value.trim() || 'https://signer.example/sign');
    p.set('roomId', $('roomId').value.trim() || '7300000000000000001');
  } else {
    p.set('relay', $('relay').value.trim() || 'wss://relay.example/ws');
    p.set('uniqueId', $('uniqueId').value.trim().replace(/^@/, '') || 'some.creator');
    if ($('jwt').value.trim()) p.set('jwt', $('jwt').value.trim());
  }
  if ($('worker').checked) p.set('worker', '1');
  optionParams(p);
  styleParams(p);
  if ($('transparent').checked) p.set('transparent', '1');
  return p;
}

let timer;
function update() {
  const page = new URL('widget.html', location.href);
  const url = new URL(`?${params(false)}`, page).href;
  const preview = new URL(`?${params(true)}`, page).href;
  $('url').value = url;
  builder.url = url;
  const w = Number($('width').value) || 400;
  const h = Number($('height').value) || 300;
  $('size-help').textContent = `In OBS: add a Browser source with this URL, width ${w}, height ${h}.`;
  // The snippet: the element itself, serialized, with absolute URLs for a page elsewhere.
  const sp = params(false);
  for (const k of ['replay', 'gifts']) if (sp.has(k)) sp.set(k, new URL(sp.get(k), location.href).href);
  const el = widgetFromQuery(sp);
  const snippet = `<script type="module" src="${new URL('pkg/widgets/index.js', location.href).href}"></script>\n${el.outerHTML}`;
  $('snippet').value = snippet;
  builder.snippet = snippet;
  const frame = $('preview');
  frame.style.width = `${w}px`;
  frame.style.height = `${h}px`;
  // Typing restarts the preview once it pauses.
  clearTimeout(timer);
  timer = setTimeout(() => {
    if (builder.previewUrl !== preview) {
      builder.previewUrl = preview;
      frame.src = preview;
    }
  }, 250);
}

async function copy(id) {
  const field = $(id);
  try {
    await navigator.clipboard.writeText(field.value);
    $('status').textContent = 'Copied.';
  } catch {
    field.select();
    $('status').textContent = document.execCommand?.('copy') ? 'Copied.' : 'Selected: press Ctrl+C to copy.';
  }
}

$('widget').addEventListener('change', () => {
  renderOptions();
  update();
});
$('form').addEventListener('input', update);
$('form').addEventListener('change', update);
$('copy-url').addEventListener('click', () => copy('url'));
$('copy-snippet').addEventListener('click', () => copy('snippet'));
renderOptions();
update();
builder.ready = true;
