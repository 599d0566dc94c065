// Building DOM without HTML strings: every piece of untrusted text (machine names, event
// names, payloads, messages) reaches the page through textContent or attribute setters.

/**
 * Create an element. `props` keys: `class`, `text`, `title`, `dataset` (object),
 * `attrs` (object of attributes), `on` (object of listeners); anything else is set as a
 * property. Children are nodes or strings (strings become text nodes).
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  applyProps(node, props);
  append(node, children);
  return node;
}

/** An SVG element (for the few icons drawn by hand). */
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child);
  return node;
}

function applyProps(node, props) {
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = String(value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "attrs") {
      for (const [name, attr] of Object.entries(value)) {
        if (attr !== undefined && attr !== null && attr !== false) node.setAttribute(name, String(attr));
      }
    } else if (key === "on") {
      for (const [type, listener] of Object.entries(value)) node.addEventListener(type, listener);
    } else node[key] = value;
  }
}

function append(node, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace every child of `node` with `children`. */
export function replaceChildren(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/** Set `node.textContent` only when it changes (keeps the DOM quiet under many updates). */
export function setText(node, value) {
  const text = value === undefined || value === null ? "" : String(value);
  if (node.textContent !== text) node.textContent = text;
}

/** Toggle a class only when needed. */
export function setClass(node, name, on) {
  if (node.classList.contains(name) !== Boolean(on)) node.classList.toggle(name, Boolean(on));
}
