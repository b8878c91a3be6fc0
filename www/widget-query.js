// The query string of widget.html as a widget element, shared by widget.html, the builder
// (builder.html) and the tests: `w` names the widget, the source and the widget's own
// settings become attributes (only those the widget declares), the style parameters CSS
// custom properties. Values are set as attributes or property values, never as HTML.
import { WIDGETS, CONNECTION_ATTRIBUTES } from './pkg/widgets/index.js';

export { WIDGETS };

/** Query parameters that set a CSS custom property of the widget. */
export const STYLE_PARAMS = {
  accent: '--tikcast-accent',
  color: '--tikcast-text',
  bg: '--tikcast-bg',
  name: '--tikcast-name',
  font: '--tikcast-font',
  size: '--tikcast-font-size',
};

const on = (v) => ['1', 'true', ''].includes(v);

/** The widget element for `params` (URLSearchParams), or null when `w` names none. */
export function widgetFromQuery(params) {
  const info = WIDGETS[params.get('w') ?? ''];
  if (!info) return null;
  const w = document.createElement(info.tag);
  for (const attr of CONNECTION_ATTRIBUTES) {
    // The query names these in camelCase (uniqueId, signedUrl, roomId) or as the attribute.
    const camel = attr.replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    const v = params.get(camel) ?? params.get(attr);
    if (v === null) continue;
    if (attr === 'worker' || attr === 'frames') {
      if (on(v)) w.setAttribute(attr, '');
    } else {
      w.setAttribute(attr, v);
    }
  }
  for (const o of info.options) {
    const v = params.get(o.name);
    if (v === null) continue;
    if (o.type !== 'boolean') w.setAttribute(o.name, v);
    else if (on(v)) w.setAttribute(o.name, '');
  }
  for (const [param, prop] of Object.entries(STYLE_PARAMS)) {
    const v = params.get(param);
    if (v) w.style.setProperty(prop, v);
  }
  return w;
}
