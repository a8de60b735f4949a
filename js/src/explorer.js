// anywidget entry point of the DPC explorer's canvas view (bundled by `npm run build` into
// dpc_widgets/static/explorer.js, with explorer.css next to it).

import "./explorer.css";
import { guardShortcuts } from "./keys.js";
import { ExplorerView } from "./view.js";

function render({ model, el }) {
  guardShortcuts();
  const view = new ExplorerView(model, el);
  return () => view.destroy();
}

export default { render };
