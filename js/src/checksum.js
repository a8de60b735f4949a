// FNV-1a 32-bit checksum, exposed as data-checksum on canvases so browser tests can tell which
// data a canvas shows (Python: dpc_widgets.widgets.render.fnv1a).

/** FNV-1a 32-bit hash of a Uint8Array, as 8 lowercase hex digits. */
export function fnv1a(bytes) {
  let hash = 0x811c9dc5;
  for (let k = 0; k < bytes.length; k++) {
    hash ^= bytes[k];
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
