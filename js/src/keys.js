// Keyboard inside the explorer goes to its controls, not to the notebook's shortcuts.
//
// JupyterLab and Notebook 7 run their keyboard shortcuts from a keydown listener on the page;
// Notebook 7's runs in the capture phase, before the slider under focus sees the key, and its
// command-mode bindings (ArrowUp/Down: the active cell, ArrowLeft/Right: headings) took the
// arrow keys of the explorer's sliders. Lumino, which matches the shortcuts, skips a key whose
// target carries data-lm-suppress-shortcuts (it checks the target itself first: a mark on an
// ancestor is too late for selectors such as ".jp-Notebook.jp-mod-commandMode :focus"), so
// every element inside the explorer (.dpc-explorer) gets the mark when it receives focus,
// before any key can reach it.

const ROOT = ".dpc-explorer";
const MARK = "data-lm-suppress-shortcuts";
let installed = false;

/** Mark element when it lies inside an explorer; returns whether it does. */
export function markInExplorer(element) {
  if (!element?.closest?.(ROOT)) return false;
  if (!element.hasAttribute(MARK)) element.setAttribute(MARK, "true");
  return true;
}

/** Install, once per page, the focus listener that marks focused explorer elements. */
export function guardShortcuts(doc = document) {
  if (installed) return;
  installed = true;
  doc.addEventListener("focusin", (event) => markInExplorer(event.target), true);
}
